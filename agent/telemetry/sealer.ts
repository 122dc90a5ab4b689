import nacl from 'tweetnacl';
import {
  encodeInner,
  ENVELOPE_LIMITS,
  OUTER_OVERHEAD_MAX,
  SESSION_ID_BYTES,
  sealPlaintext,
  type EnvelopeReading,
  type SealInput,
} from '../codec/envelope.js';
import { keyId, toHex, type DeviceIdentity } from '../crypto/keys.js';
import { ALG_X25519_XSALSA20_POLY1305, DEFAULT_SUITES, type CryptoSuite, type SuiteRegistry } from '../crypto/suites.js';
import { TrustError, assertBytes, assertString } from '../errors.js';

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
}

/** A fresh boot-session id from the wired random port. */
export function newSessionId(): Uint8Array {
  return nacl.randomBytes(SESSION_ID_BYTES);
}

/**
 * Seals batches of readings into v1 envelopes for one device, one recipient and one boot session.
 * The shared key is agreed once here (and again only on `setRecipient`); each `seal` costs one CBOR encode,
 * one random nonce and one `box.after`. Every successful seal consumes one sequence number; a failed seal
 * consumes none.
 */
export class Sealer {
  readonly deviceId: string;
  readonly sessionId: Uint8Array;
  readonly sessionHex: string;
  private readonly suite: CryptoSuite;
  private readonly senderKeyId: Uint8Array;
  private readonly secretKey: Uint8Array;
  private readonly maxEnvelopeBytes: number;
  private recipient: { keyId: Uint8Array; sharedKey: Uint8Array };
  private seq: number;

  constructor(options: SealerOptions) {
    assertString(options.deviceId, 'deviceId', ENVELOPE_LIMITS.maxNameLength);
    assertBytes(options.sessionId, 'sessionId', SESSION_ID_BYTES);
    assertBytes(options.identity?.boxKeyId, 'identity.boxKeyId', 8);
    this.suite = (options.suites ?? DEFAULT_SUITES).get(options.alg ?? ALG_X25519_XSALSA20_POLY1305);
    assertBytes(options.identity.boxSecretKey, 'identity.boxSecretKey', this.suite.secretKeyLength);
    this.deviceId = options.deviceId;
    this.sessionId = options.sessionId.slice();
    this.sessionHex = toHex(this.sessionId);
    this.senderKeyId = options.identity.boxKeyId.slice();
    this.secretKey = options.identity.boxSecretKey;
    this.maxEnvelopeBytes = options.maxEnvelopeBytes ?? ENVELOPE_LIMITS.maxEnvelopeBytes;
    this.seq = options.firstSeq ?? 0;
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
  }

  /**
   * Seal all `readings` into one envelope. Throws OVERSIZED when they do not fit (use `sealFitting`), and
   * INVALID_READING for a reading the format cannot carry. `nonce` is for golden vectors only.
   */
  seal(stream: string, readings: readonly EnvelopeReading[], ts: number, nonce?: Uint8Array): Uint8Array {
    const input = this.input(stream, readings, ts, nonce);
    const envelope = sealPlaintext(input, encodeInner(input));
    this.seq++;
    return envelope;
  }

  /**
   * Seal the longest prefix of `readings` that fits one envelope (halving until it fits) and say how many it
   * took. Throws OVERSIZED only when the first reading alone cannot fit: the caller must drop that reading.
   */
  sealFitting(stream: string, readings: readonly EnvelopeReading[], ts: number): { envelope: Uint8Array; count: number } {
    let count = Math.min(readings.length, ENVELOPE_LIMITS.maxReadings);
    while (count > 0) {
      const input = this.input(stream, readings.slice(0, count), ts, undefined);
      const plaintext = encodeInner(input);
      if (plaintext.length + this.suite.overhead + OUTER_OVERHEAD_MAX <= this.maxEnvelopeBytes || count === 1) {
        const envelope = sealPlaintext(input, plaintext);
        this.seq++;
        return { envelope, count };
      }
      count = Math.floor(count / 2);
    }
    throw new TrustError('INVALID_ARGUMENT', 'an envelope carries at least one reading');
  }

  private input(stream: string, readings: readonly EnvelopeReading[], ts: number, nonce: Uint8Array | undefined): SealInput {
    if (typeof stream !== 'string' || stream.length === 0 || stream.length > ENVELOPE_LIMITS.maxNameLength) {
      throw new TrustError('INVALID_ARGUMENT', 'stream must be a short non-empty string');
    }
    if (!Number.isSafeInteger(ts) || ts < 0) throw new TrustError('INVALID_ARGUMENT', 'ts must be unsigned integer milliseconds');
    if (nonce !== undefined) assertBytes(nonce, 'nonce', this.suite.nonceLength);
    return {
      suite: this.suite,
      sharedKey: this.recipient.sharedKey,
      recipientKeyId: this.recipient.keyId,
      senderKeyId: this.senderKeyId,
      sessionId: this.sessionId,
      seq: this.seq,
      ts,
      nonce: nonce ?? nacl.randomBytes(this.suite.nonceLength),
      deviceId: this.deviceId,
      stream,
      readings,
      maxEnvelopeBytes: this.maxEnvelopeBytes,
    };
  }

  private agree(recipientPublicKey: Uint8Array): { keyId: Uint8Array; sharedKey: Uint8Array } {
    assertBytes(recipientPublicKey, 'recipientPublicKey', this.suite.publicKeyLength);
    return { keyId: keyId(recipientPublicKey), sharedKey: this.suite.precompute(recipientPublicKey, this.secretKey) };
  }
}
