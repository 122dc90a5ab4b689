import { TrustError } from '../errors.js';
import type { AuditDetails, AuditEventType } from './events.js';

/**
 * The owner channel (agent/owner) reports its decisions with its own event names; this maps them onto the trail's
 * event types so the composition root can pass `OwnerActions.audit` straight through.
 */
export function ownerAuditEvent(name: string, details: AuditDetails): { type: AuditEventType; details: AuditDetails } {
  switch (name) {
    case 'owner-paired':
      return { type: 'pairing', details: { ...details, result: 'paired' } };
    case 'owner-pairing-rejected':
      return { type: 'pairing', details: { ...details, result: 'rejected' } };
    case 'owner-request-rejected':
      return { type: 'command.rejected', details };
    case 'owner-requests-rate-limited':
      return { type: 'command.rejected', details: { ...details, rateLimited: true } };
    default:
      throw new TrustError('INVALID_ARGUMENT', 'unknown owner audit event');
  }
}
