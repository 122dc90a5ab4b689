import { asRecord, fieldBytes } from '../codec/cbor.js';
import { utf8Decode } from '../codec/utf8.js';
import type { DeviceIdentity } from '../crypto/keys.js';
import { TrustError } from '../errors.js';
import { openSealed } from './seal.js';
import type { ClockPort } from '../ports/clock.js';
import type { OwnerActions } from './contract.js';
import type { OwnerRecord } from './owner-store.js';
import { digest, signReceipt, type AcceptedReply } from './replies.js';
import type { OwnerRequest } from './requests.js';

type Extra = Pick<AcceptedReply, 'receipt' | 'export' | 'audit' | 'report'>;

/**
 * Carry out one verified request through the agent's actions. Returns what the accepted reply carries besides the
 * version and enforced state. Throws what the actions throw (INVALID_PREFERENCE names the field).
 */
export async function executeRequest(
  request: OwnerRequest, owner: OwnerRecord, actions: OwnerActions, signer: DeviceIdentity, deviceId: string, clock: ClockPort,
): Promise<Extra> {
  const receipt = (details: unknown): Uint8Array => signReceipt(
    { v: 1, type: 'receipt', deviceId, kind: request.kind, clientToken: request.clientToken, issuedAt: clock.now(), details },
    signer.signSecretKey,
  );
  switch (request.kind) {
    case 'set-preferences':
      await actions.applyPatch(request.desired);
      return {};
    case 'reset':
      await actions.reset();
      return { receipt: receipt({ version: actions.preferencesVersion() }) };
    case 'erase-all':
      return { receipt: receipt(await actions.eraseAll()) };
    case 'erase-category':
      return { receipt: receipt(await actions.eraseCategory(request.category ?? '')) };
    case 'export': {
      const sealed = await actions.exportData(owner.boxPublicKey);
      return { export: sealed, receipt: receipt({ bytes: sealed.length, sha512_256: digest(sealed) }) };
    }
    case 'transfer':
      return { receipt: receipt(await actions.transferOwnership()) };
    case 'get-audit':
      return { audit: await actions.auditTrail() };
    case 'get-state':
      return {};
    case 'accept-terms':
      await actions.acceptTerms(request.desired);
      return {};
    case 'erase-user':
      return { receipt: receipt(await actions.eraseUser(openUserId(request.desired, signer))) };
    case 'get-report':
      return { report: actions.selfAssessment() };
  }
}

/**
 * The person to erase travels sealed to the device's box key: a signed request is readable by the broker, and a
 * household member's id is personal data. Anything that does not open is an invalid preference, named as such.
 */
function openUserId(desired: unknown, device: DeviceIdentity): string {
  try {
    const sealed = fieldBytes(asRecord(desired, 'desired'), 'sealedUserId', undefined, 1024);
    return utf8Decode(openSealed(sealed, device.boxSecretKey, 1024));
  } catch (cause) {
    throw new TrustError('INVALID_PREFERENCE', 'desired.sealedUserId: must be the user id sealed to the device key', { cause });
  }
}
