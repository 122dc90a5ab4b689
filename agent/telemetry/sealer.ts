import nacl from 'tweetnacl';
import { hostRandom, type RandomSource } from '../crypto/random.js';
import {
  ENVELOPE_LIMITS,
  envelopeTemplate,
  OUTER_OVERHEAD_MAX,
  SESSION_ID_BYTES,
  sealEncoded,
  toWireReadings,
  type EnvelopeReading,
} from '../codec/envelope.js';
import type { EnvelopeTemplate } from '../codec/envelope-wire.js';
import { encodeCbor } from '../codec/cbor.js';
import { sealEnvelopeV2 } from '../codec/envelope-any.js';
import { noncePrefix, v2Run, type CategoryTable } from '../codec/envelope-v2.js';
import { keyId, toHex, type DeviceIdentity } from '../crypto/keys.js';
import { ALG_X25519_XSALSA20_POLY1305, DEFAULT_SUITES, type CryptoSuite, type SuiteRegistry } from '../crypto/suites.js';
import { TrustError, assertBytes } from '../errors.js';
import { assertDeviceId } from '../topics.js';

export interface SealerOptions {
  /** Only the box half of the identity is used. */
  identity: Pick<DeviceIdentity, 'boxSecretKey' | 'boxKeyId'>;
  deviceId: string;
  /** The collector's X25519 public key. */
  recipientPublicKey: Uint8Array;
  /** 8 random bytes per boot (see `newSessionId`); its hex is the `session` of this boot's RecordIds. */
  sessionId: Uint8Array;
  alg?: number;
  suites?: SuiteRegistry;
  maxEnvelopeBytes?: number;
  /** First envelope sequence number of the session (default 0). */
  firstSeq?: number;
  /** Where nonces come from; the agent passes its own source. Default: the host source. */
  random?: RandomSource;
  /** Envelope version to send: 2 (default) or 1 (for collectors not yet updated; docs/protocol.md). */
  version?: 1 | 2;
  /** The running registry, so v2 sends categories as registry indexes; without it v2 sends their names. */
  categories?: () => CategoryTable | undefined;
}

/** A fresh boot-session id from `random` (the agent passes its own source). */
export function newSessionId(random: RandomSource = hostRandom): Uint8Array {
  return random.bytes(SESSION_ID_BYTES);
}

/**
 * Seals batches of readings into v2 (default) or v1 envelopes for one device, one recipient and one boot session.
 * The shared key is agreed once here (and again only on `setRecipient`); each `seal` costs one CBOR encode,
 * one nonce (v1: random; v2: derived from a per-stream prefix and seq) and one `box.after`. Every successful seal
 * consumes one sequence number; a failed seal consumes none.
 *
 * Keep one Sealer per (identity, session). A second Sealer for the same key and session must start at
 * `firstSeq` = the first one's `nextSeq`: the collector refuses a repeated (key, session, seq) as a replay (v2: as
 * NONCE_REUSE when the content differs, because the derived nonce repeats), and the readings in it would not be
 * delivered even though the broker acknowledged the envelope.
 */
export class Sealer {
  readonly deviceId: string;
  readonly sessionId: Uint8Array;
  readonly sessionHex: string;
  private readonly suite: CryptoSuite;
  private readonly senderKeyId: Uint8Array;
  private readonly secretKey: Uint8Array;
  private readonly maxEnvelopeBytes: number;
  readonly version: 1 | 2;
  private readonly categories: (() => CategoryTable | undefined) | undefined;
  private recipient: { keyId: Uint8Array; sharedKey: Uint8Array };
  private seq: number;
  /** Constant envelope bytes per stream; rebuilt when the recipient changes. */
  private templates = new Map<string, EnvelopeTemplate>();
  /** v2 nonce prefix per stream (one hash per session and stream); rebuilt when the recipient changes. */
  private prefixes = new Map<string, Uint8Array>();
  private noncePool: Uint8Array = new Uint8Array(0);
  private readonly random: RandomSource;
  private nonceOffset = 0;

  constructor(options: SealerOptions) {
    assertDeviceId(options.deviceId);
    assertBytes(options.sessionId, 'sessionId', SESSION_ID_BYTES);
    assertBytes(options.identity?.boxKeyId, 'identity.boxKeyId', 8);
    this.suite = (options.suites ?? DEFAULT_SUITES).get(options.alg ?? ALG_X25519_XSALSA20_POLY1305);
    assertBytes(options.identity.boxSecretKey, 'identity.boxSecretKey', this.suite.secretKeyLength);
    this.deviceId = options.deviceId;
    this.random = options.random ?? hostRandom;
    this.sessionId = options.sessionId.slice();
    this.sessionHex = toHex(this.sessionId);
    this.senderKeyId = options.identity.boxKeyId.slice();
    this.secretKey = options.identity.boxSecretKey;
    this.maxEnvelopeBytes = options.maxEnvelopeBytes ?? ENVELOPE_LIMITS.maxEnvelopeBytes;
    this.seq = options.firstSeq ?? 0;
    this.version = options.version ?? 2;
    if (this.version !== 1 && this.version !== 2) throw new TrustError('INVALID_ARGUMENT', 'version must be 1 or 2');
    this.categories = options.categories;
    if (!Number.isSafeInteger(this.seq) || this.seq < 0) throw new TrustError('INVALID_ARGUMENT', 'firstSeq must be an unsigned integer');
    this.recipient = this.agree(options.recipientPublicKey);
  }

  /** The sequence number the next envelope will carry. */
  get nextSeq(): number {
    return this.seq;
  }

  get recipientKeyId(): Uint8Array {
    return this.recipient.keyId.slice();
  }

  /** Recipient key rotation: one key agreement now, none per message. */
  setRecipient(recipientPublicKey: Uint8Array): void {
    this.recipient = this.agree(recipientPublicKey);
    this.templates = new Map();
    this.prefixes = new Map();
  }

  /**
   * Seal all `readings` into one envelope. Throws OVERSIZED when they do not fit (use `sealFitting`), and
   * INVALID_READING for a reading the format cannot carry. `nonce` is for golden vectors only.
   */
  seal(stream: string, readings: readonly EnvelopeReading[], ts: number, nonce?: Uint8Array): Uint8Array {
    if (this.version === 2) {
      if (nonce !== undefined) throw new TrustError('INVALID_ARGUMENT', 'v2 derives its nonce; none can be given');
      if (v2Run(readings) < readings.length) throw new TrustError('INVALID_READING', 'a v2 envelope carries the readings of one session');
      checkTs(ts);
      const envelope = this.sealV2(stream, readings, ts);
      this.seq++;
      return envelope;
    }
    const template = this.template(stream);
    checkTs(ts);
    const envelope = this.finish(template, encodeCbor(toWireReadings(readings)), ts, nonce);
    this.seq++;
    return envelope;
  }

  /**
   * Seal the longest prefix of `readings` that fits one envelope (halving until it fits) and say how many it
   * took. Throws OVERSIZED only when the first reading alone cannot fit: the caller must drop that reading.
   */
  sealFitting(stream: string, readings: readonly EnvelopeReading[], ts: number): { envelope: Uint8Array; count: number } {
    if (this.version === 2) return this.sealFittingV2(stream, readings, ts);
    const template = this.template(stream);
    checkTs(ts);
    const wire = toWireReadings(readings.slice(0, ENVELOPE_LIMITS.maxReadings));
    for (let count = wire.length; ; count = Math.ceil(count / 2)) {
      const encoded = encodeCbor(count === wire.length ? wire : wire.slice(0, count));
      const plaintextLength = template.innerLength(this.seq, ts, encoded);
      if (plaintextLength + this.suite.overhead + OUTER_OVERHEAD_MAX <= this.maxEnvelopeBytes || count === 1) {
        const envelope = this.finish(template, encoded, ts, undefined);
        this.seq++;
        return { envelope, count };
      }
    }
  }

  /** v2: the longest prefix of one session, halved until it fits. */
  private sealFittingV2(stream: string, readings: readonly EnvelopeReading[], ts: number): { envelope: Uint8Array; count: number } {
    checkTs(ts);
    for (let count = v2Run(readings); ; count = Math.ceil(count / 2)) {
      try {
        const envelope = this.sealV2(stream, readings.slice(0, count), ts);
        this.seq++;
        return { envelope, count };
      } catch (error) {
        if (count === 1 || !(error instanceof TrustError) || error.code !== 'OVERSIZED') throw error;
      }
    }
  }

  private sealV2(stream: string, readings: readonly EnvelopeReading[], ts: number): Uint8Array {
    assertStream(stream);
    const categories = this.categories?.();
    const keys = { recipientKeyId: this.recipient.keyId, senderKeyId: this.senderKeyId };
    let prefix = this.prefixes.get(stream);
    if (prefix === undefined) {
      prefix = noncePrefix(this.suite.id, keys, this.sessionId, { deviceId: this.deviceId, stream }, this.suite.nonceLength);
      if (this.prefixes.size >= 16) this.prefixes.clear();
      this.prefixes.set(stream, prefix);
    }
    return sealEnvelopeV2({
      suite: this.suite, sharedKey: this.recipient.sharedKey, keys, sessionId: this.sessionId, seq: this.seq, ts, deviceId: this.deviceId,
      stream, readings, ...(categories === undefined ? {} : { categories }), maxEnvelopeBytes: this.maxEnvelopeBytes, noncePrefix: prefix,
    });
  }

  private finish(template: EnvelopeTemplate, readings: Uint8Array, ts: number, nonce: Uint8Array | undefined): Uint8Array {
    if (nonce !== undefined) assertBytes(nonce, 'nonce', this.suite.nonceLength);
    const { sharedKey } = this.recipient;
    const input = { suite: this.suite, sharedKey, seq: this.seq, ts, nonce: nonce ?? this.nextNonce(), maxEnvelopeBytes: this.maxEnvelopeBytes };
    return sealEncoded(template, input, readings);
  }

  /**
   * Nonces come from the random port in blocks of 32: one port call per 32 envelopes instead of one each
   * (the call costs about as much as encrypting a reading). Every nonce is still fresh random bytes, used once;
   * a refill allocates a new block, so earlier nonces are never overwritten.
   */
  private nextNonce(): Uint8Array {
    const length = this.suite.nonceLength;
    if (this.nonceOffset + length > this.noncePool.length) {
      this.noncePool = this.random.bytes(length * 32);
      this.nonceOffset = 0;
    }
    const nonce = this.noncePool.subarray(this.nonceOffset, this.nonceOffset + length);
    this.nonceOffset += length;
    return nonce;
  }

  private template(stream: string): EnvelopeTemplate {
    let template = this.templates.get(stream);
    if (template === undefined) {
      template = envelopeTemplate({
        suite: this.suite,
        recipientKeyId: this.recipient.keyId,
        senderKeyId: this.senderKeyId,
        sessionId: this.sessionId,
        deviceId: this.deviceId,
        stream,
      });
      // A handful of streams per device; the bound only guards against a caller passing unbounded names.
      if (this.templates.size >= 16) this.templates.clear();
      this.templates.set(stream, template);
    }
    return template;
  }

  private agree(recipientPublicKey: Uint8Array): { keyId: Uint8Array; sharedKey: Uint8Array } {
    assertBytes(recipientPublicKey, 'recipientPublicKey', this.suite.publicKeyLength);
    return { keyId: keyId(recipientPublicKey), sharedKey: this.suite.precompute(recipientPublicKey, this.secretKey) };
  }
}

/** A stream is a topic level, like the device id (agent/topics.ts). */
function assertStream(stream: string): void {
  if (typeof stream !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(stream)) {
    throw new TrustError('INVALID_ARGUMENT', 'stream must be 1-64 characters of A-Z a-z 0-9 _ -');
  }
}

function checkTs(ts: number): void {
  if (!Number.isSafeInteger(ts) || ts < 0) throw new TrustError('INVALID_ARGUMENT', 'ts must be unsigned integer milliseconds');
}
