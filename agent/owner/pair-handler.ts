import type { RandomSource } from '../crypto/random.js';
import { toHex, type DeviceIdentity } from '../crypto/keys.js';
import { TrustError, type TrustErrorCode } from '../errors.js';
import type { ClockPort } from '../ports/clock.js';
import { topics } from '../topics.js';
import type { OwnerActions } from './contract.js';
import type { OwnerStore } from './owner-store.js';
import { encodePairingPayload, openPairingRequest, PairingWindow, type PairingRequest } from './pairing.js';
import { FailureLimiter } from './rate-limit.js';
import { signPairingReply, type PairingReply } from './replies.js';

export interface PairingContext {
  deviceId: string;
  deviceType: string;
  identity: () => DeviceIdentity;
  actions: OwnerActions;
  clock: ClockPort;
  owners: OwnerStore;
  publish: (topic: string, payload: Uint8Array) => Promise<void>;
  publishState: () => Promise<void>;
}

const MAX_PAIRING_REQUEST = 2048;

/**
 * Pairing: the only way an owner is registered. Requires an open window (local trigger), the one-time setup code
 * and no current owner. Wrong codes close the window after `maxWrongAttempts` and feed a backoff; while in
 * backoff, pairing requests are dropped without decryption.
 */
export class PairingHandler {
  private readonly window: PairingWindow;
  private readonly limiter = new FailureLimiter({ freeFailures: 2, baseDelayMs: 1_000, maxDelayMs: 30_000, maxSources: 1 });
  dropped = 0;

  constructor(private readonly context: PairingContext, maxWrongAttempts: number, random?: RandomSource) {
    this.window = new PairingWindow(maxWrongAttempts, random);
  }

  open(durationMs: number): { payload: string; setupCode: string; expiresInMs: number } {
    if (!Number.isFinite(durationMs) || durationMs <= 0) throw new TrustError('INVALID_ARGUMENT', 'durationMs must be positive');
    if (this.context.owners.current() !== undefined) throw new TrustError('ALREADY_PAIRED', 'the device already has an owner');
    const now = this.context.clock.monotonic();
    const setupCode = this.window.open(durationMs, now);
    this.limiter.reset();
    const identity = this.context.identity();
    const payload = encodePairingPayload({
      deviceId: this.context.deviceId, deviceType: this.context.deviceType,
      boxPublicKey: identity.boxPublicKey, signPublicKey: identity.signPublicKey, setupCode,
    });
    return { payload, setupCode, expiresInMs: this.window.expiresInMs(now) };
  }

  isOpen(): boolean {
    return this.window.isOpen(this.context.clock.monotonic());
  }

  async handle(bytes: Uint8Array): Promise<void> {
    const now = this.context.clock.monotonic();
    if (bytes.length > MAX_PAIRING_REQUEST || this.limiter.isBlocked('pairing', now) || !this.window.isOpen(now)) {
      // Closed window: no decryption at all, so a flood costs next to nothing.
      this.dropped += 1;
      return;
    }
    let request: PairingRequest;
    try {
      request = openPairingRequest(bytes, this.context.identity().boxSecretKey);
    } catch (error) {
      this.dropped += 1;
      return this.fail(error instanceof TrustError ? error.code : 'MALFORMED');
    }
    if (request.deviceId !== this.context.deviceId) return this.reply(request, 'WRONG_DEVICE', 'the request names another device');
    if (this.context.owners.current() !== undefined) return this.reply(request, 'ALREADY_PAIRED', 'the device already has an owner');
    try {
      // No freshness check: a factory-fresh device may not know the time yet; the one-time code prevents replay.
      this.window.redeem(request.setupCode, now);
    } catch (error) {
      const code = error instanceof TrustError ? error.code : 'AUTH_FAILED';
      await this.fail(code);
      return this.reply(request, code, code === 'PAIRING_CLOSED' ? 'the pairing window is closed' : 'wrong setup code');
    }
    await this.register(request);
  }

  private async register(request: PairingRequest): Promise<void> {
    const pairedAt = this.context.clock.now();
    const owner = await this.context.owners.register(request.ownerSignPublicKey, request.ownerBoxPublicKey, pairedAt);
    await this.context.actions.audit('owner-paired', { ownerKeyId: toHex(owner.keyId) });
    const reply: PairingReply = {
      v: 1, type: 'pairing', deviceId: this.context.deviceId, requestId: request.requestId, outcome: 'accepted', ownerKeyId: owner.keyId, pairedAt,
    };
    await this.context.publish(topics.pairReply(this.context.deviceId), signPairingReply(reply, this.context.identity().signSecretKey));
    await this.context.publishState();
  }

  private async fail(code: TrustErrorCode): Promise<void> {
    this.limiter.recordFailure('pairing', this.context.clock.monotonic());
    await this.context.actions.audit('owner-pairing-rejected', { code });
  }

  private async reply(request: PairingRequest, code: TrustErrorCode, reason: string): Promise<void> {
    const reply: PairingReply = { v: 1, type: 'pairing', deviceId: this.context.deviceId, requestId: request.requestId, outcome: 'rejected', code, reason };
    await this.context.publish(topics.pairReply(this.context.deviceId), signPairingReply(reply, this.context.identity().signSecretKey));
  }
}
