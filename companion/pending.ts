import { TrustError, type TrustErrorCode } from '../agent/errors.js';
import { decodePart, joinParts, MAX_PARTS } from '../agent/owner/parts.js';
import type { AcceptedReply, RejectedReply } from '../agent/owner/replies.js';

interface Pending {
  /** The signed reply of a result that travels in parts, until every part is in. */
  reply?: AcceptedReply;
  parts?: Map<number, Uint8Array>;
  resolve: (reply: AcceptedReply) => void;
  reject: (error: TrustError) => void;
}

/**
 * The companion's requests waiting for their verified reply, by client token. A large result (an export, an audit
 * trail) arrives as parts that are kept only for a pending request and only until the signed reply says what the
 * whole must hash to.
 */
export class PendingRequests {
  private readonly byToken = new Map<string, Pending>();

  add(clientToken: string, resolve: (reply: AcceptedReply) => void, reject: (error: TrustError) => void): () => void {
    this.byToken.set(clientToken, { resolve, reject });
    return () => this.byToken.delete(clientToken);
  }

  has(clientToken: string): boolean {
    return this.byToken.has(clientToken);
  }

  rejectAll(error: TrustError): void {
    for (const pending of this.byToken.values()) pending.reject(error);
    this.byToken.clear();
  }

  /** A verified reply; `topicMatches`: the topic names the same client token and outcome as the signed reply. */
  onReply(reply: AcceptedReply | RejectedReply, topicMatches: boolean): void {
    const pending = this.byToken.get(reply.clientToken);
    if (pending === undefined || !topicMatches) return;
    if (reply.outcome === 'rejected') return pending.reject(rejectionError(reply));
    if (reply.parts === undefined) return pending.resolve(reply);
    pending.reply = reply;
    this.complete(reply.clientToken, pending);
  }

  /** Unsigned on its own: believed only when the parts join to the size and digest the signed reply names. */
  onPart(clientToken: string, payload: Uint8Array): void {
    const pending = this.byToken.get(clientToken);
    if (pending === undefined) return;
    const part = decodePart(payload);
    pending.parts ??= new Map();
    if (pending.parts.size >= MAX_PARTS) return;
    pending.parts.set(part.index, part.body);
    this.complete(clientToken, pending);
  }

  private complete(token: string, pending: Pending): void {
    const reply = pending.reply;
    if (reply?.parts === undefined) return;
    let blob: Uint8Array | undefined;
    try {
      blob = joinParts(reply.parts, pending.parts ?? new Map());
    } catch (error) {
      return pending.reject(error instanceof TrustError ? error : new TrustError('AUTH_FAILED', 'bad parts'));
    }
    if (blob === undefined) return; // more parts to come; the request's timeout still applies
    this.byToken.delete(token);
    pending.resolve({ ...reply, [reply.parts.field]: blob });
  }
}

function rejectionError(reply: RejectedReply): TrustError {
  const version = reply.currentVersion === undefined ? '' : ` (current version ${reply.currentVersion})`;
  return new TrustError(reply.code as TrustErrorCode, `${reply.reason}${version}`, { cause: reply });
}
