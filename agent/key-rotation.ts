import type { AuditTrail } from './audit/index.js';
import { keyId, toHex, type DeviceIdentity } from './crypto/keys.js';
import {
  ANNOUNCEMENTS_FILE, decodeAnnouncements, encodeAnnouncements, saveRecipient, signKeyAnnouncement, verifyRecipientRotation,
  type RecipientKey,
} from './crypto/rotation.js';
import { isTrustError } from './errors.js';
import type { ClockPort, LoggerPort, StoragePort, Transport } from './ports/index.js';
import { topics } from './topics.js';

export interface KeyRotationDeps {
  deviceId: string;
  storage: StoragePort;
  clock: ClockPort;
  logger: LoggerPort;
  audit: () => AuditTrail;
  /** The vendor's Ed25519 trust root; without it every recipient rotation is refused (and audited). */
  trustRoot: Uint8Array | undefined;
  recipient: RecipientKey;
  /** Called after a rotation is persisted and audited: the sealer switches to the new key. */
  onRecipient: (recipient: RecipientKey) => void;
}

/** Why a rotation was refused, as an audit token. */
const REFUSAL: Record<string, string> = {
  BAD_SIGNATURE: 'bad-signature', UNKNOWN_KEY: 'not-trust-root', WEAK_KEY: 'weak-key', WRONG_DEVICE: 'wrong-device',
};

/**
 * The device side of key rotation (R7): applies recipient rotations signed by the trust root, and hands the device's
 * new keys to the collector after an ownership transfer (announcements signed by the previous keys, republished
 * retained at every connect, so an offline transfer is announced before any envelope under the new keys).
 */
export class KeyRotation {
  private current: RecipientKey;
  private transport: Transport | undefined;
  private queue: Promise<void> = Promise.resolve();
  /** The announcement chain, held in memory so a reconnect can send it before anything else (see republish). */
  private chain: Uint8Array | undefined;

  constructor(private readonly deps: KeyRotationDeps) {
    this.current = deps.recipient;
  }

  recipient(): RecipientKey {
    return this.current;
  }

  /** Subscribes to the device's recipient-key topic (kept by the broker across reconnects: clean session off). */
  async attach(transport: Transport): Promise<void> {
    this.chain ??= await this.deps.storage.read(ANNOUNCEMENTS_FILE);
    if (this.transport !== transport) {
      this.transport = transport;
      transport.onMessage((message) => {
        if (message.topic === topics.recipientKey(this.deps.deviceId)) this.serialise(() => this.apply(message.payload));
      });
    }
    if (transport.connected) await transport.subscribe(topics.recipientKey(this.deps.deviceId), 1);
  }

  /**
   * At every connect, first thing: the announcement is handed to the link synchronously, before any envelope a
   * concurrent record() could queue, so the collector learns new device keys before it sees them used.
   */
  async republish(): Promise<void> {
    const transport = this.transport;
    if (transport?.connected !== true) return;
    const sent = this.chain === undefined ? Promise.resolve() : transport.publish(topics.deviceKeys(this.deps.deviceId), this.chain, { qos: 1, retain: true });
    const results = await Promise.allSettled([sent, transport.subscribe(topics.recipientKey(this.deps.deviceId), 1)]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  /** Ownership transfer: the new keys, signed by the old ones; persisted first, then published if the link is up. */
  async announce(previous: DeviceIdentity, next: DeviceIdentity): Promise<void> {
    const stored = await this.deps.storage.read(ANNOUNCEMENTS_FILE);
    const chain = stored === undefined ? [] : decodeAnnouncements(stored);
    chain.push(signKeyAnnouncement(this.deps.deviceId, previous, next, this.deps.clock.now()));
    const bytes = encodeAnnouncements(chain);
    await this.deps.storage.writeAtomic(ANNOUNCEMENTS_FILE, bytes);
    this.chain = bytes;
    const transport = this.transport;
    if (transport?.connected === true) {
      await transport.publish(topics.deviceKeys(this.deps.deviceId), bytes, { qos: 1, retain: true }).catch(() => {
        this.deps.logger.warn('key announcement not acknowledged; republished at the next connect', { deviceId: this.deps.deviceId });
      });
    }
  }

  /** Rotation messages are handled one at a time, in arrival order. */
  private serialise(task: () => Promise<void>): void {
    this.queue = this.queue.then(task).catch((error: unknown) => {
      this.deps.logger.warn('recipient rotation could not be handled', { deviceId: this.deps.deviceId, code: isTrustError(error) ? error.code : 'error' });
    });
  }

  private async apply(payload: Uint8Array): Promise<void> {
    const audit = this.deps.audit();
    if (this.deps.trustRoot === undefined) {
      await audit.record('key.rejected', { purpose: 'recipient', reason: 'no-trust-root' });
      return;
    }
    let rotation;
    try {
      rotation = verifyRecipientRotation(payload, this.deps.trustRoot, this.deps.deviceId);
    } catch (error) {
      const reason = isTrustError(error) ? REFUSAL[error.code] ?? 'malformed' : 'malformed';
      await audit.record('key.rejected', { purpose: 'recipient', reason });
      return;
    }
    if (rotation.serial === this.current.serial) return; // the retained message, delivered again at every subscribe
    if (rotation.serial < this.current.serial) {
      await audit.record('key.rejected', { purpose: 'recipient', reason: 'stale', serial: rotation.serial });
      return;
    }
    const next = { publicKey: rotation.recipientPublicKey, serial: rotation.serial };
    await saveRecipient(this.deps.storage, next);
    await audit.record('key.rotated', {
      purpose: 'recipient', keyId: toHex(keyId(next.publicKey)), previousKeyId: toHex(keyId(this.current.publicKey)), serial: next.serial,
    });
    this.current = next;
    this.deps.onRecipient(next);
  }
}
