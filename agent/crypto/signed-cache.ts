import nacl from 'tweetnacl';
import { asRecord, decodeCbor, encodeCbor } from '../codec/cbor.js';
import { concatBytes } from '../codec/bytes.js';
import { utf8Encode } from '../codec/utf8.js';
import type { LoggerPort } from '../ports/logger.js';
import type { StoragePort } from '../ports/storage.js';
import { equalBytes, keyId } from './keys.js';
import { parseSignedDocument, signDocument } from './sign.js';

export const SIGNED_CACHE_FILE = 'keys/signed.cbor';
const TAG_DOMAIN = utf8Encode('iot-trust-agent/signed-cache/v1');

/**
 * The documents the agent signs at every start and (re)connect whose content rarely changes: the manifest and the
 * owner-channel state report. An Ed25519 signature costs about 280 ms in QuickJS; signing an unchanged document
 * again at each boot buys nothing, so the last signed bytes of each slot are kept on flash and published again when
 * the body would encode to exactly the bytes signed last time, by the same key.
 *
 * The file holds only documents the device publishes anyway (no secret). Each entry carries a tag keyed with the
 * signing seed, so a corrupted or planted entry is never published: it is signed afresh instead. The file is
 * rewritten only when a slot is signed anew (a changed manifest, state or key), never at a boot that changed nothing.
 */
export class SignedCache {
  private saving: Promise<void> = Promise.resolve();

  private constructor(private readonly storage: StoragePort, private readonly logger: LoggerPort, private readonly slots: Map<string, Uint8Array>) {}

  /** An unreadable file is an empty cache: the only cost is one signature per slot. */
  static async load(storage: StoragePort, logger: LoggerPort): Promise<SignedCache> {
    const slots = new Map<string, Uint8Array>();
    try {
      const bytes = await storage.read(SIGNED_CACHE_FILE);
      if (bytes !== undefined) {
        for (const [slot, entry] of Object.entries(asRecord(decodeCbor(bytes), 'signed cache'))) {
          if (entry instanceof Uint8Array) slots.set(slot, entry);
        }
      }
    } catch {
      logger.warn('signed-document cache unreadable; documents are signed again', {});
    }
    return new SignedCache(storage, logger, slots);
  }

  /**
   * The signed document of `build(stamp)`. `stamp` is the time the cached document was issued when there is one
   * (so a body that differs from the cached one only by its issue time is the same document) and `now` otherwise.
   */
  sign(slot: string, signSecretKey: Uint8Array, now: number, build: (stamp: number) => unknown): Uint8Array {
    const cached = this.reusable(slot, signSecretKey, build);
    if (cached !== undefined) return cached;
    const signed = signDocument(build(now), signSecretKey);
    this.slots.set(slot, concatBytes([tag(signSecretKey, signed), signed]));
    this.save();
    return signed;
  }

  /** Resolves once the last change is on flash (tests, orderly shutdown). */
  saved(): Promise<void> {
    return this.saving;
  }

  /**
   * Written behind the caller, one write at a time, each with every slot as it is then: the signed document is
   * published without waiting for flash (so publications keep their order), and losing the write to a power cut
   * only costs one signature at the next boot.
   */
  private save(): void {
    this.saving = this.saving.then(() => this.storage.writeAtomic(SIGNED_CACHE_FILE, encodeCbor(Object.fromEntries(this.slots)))).catch(() => {
      this.logger.warn('signed-document cache not saved', {});
    });
  }

  private reusable(slot: string, signSecretKey: Uint8Array, build: (stamp: number) => unknown): Uint8Array | undefined {
    const entry = this.slots.get(slot);
    if (entry === undefined || entry.length <= TAG_LENGTH) return undefined;
    const signed = entry.subarray(TAG_LENGTH);
    if (!equalBytes(entry.subarray(0, TAG_LENGTH), tag(signSecretKey, signed))) return undefined;
    try {
      const { b, k } = parseSignedDocument(signed);
      if (!equalBytes(k, keyId(signSecretKey.subarray(32)))) return undefined;
      const previous = decodeCbor(b) as { issuedAt?: unknown } | undefined;
      const stamp = typeof previous?.issuedAt === 'number' ? previous.issuedAt : Number.NaN;
      return equalBytes(encodeCbor(build(stamp)), b) ? signed.slice() : undefined;
    } catch {
      return undefined;
    }
  }
}

const TAG_LENGTH = 16;

/** SHA-512(domain || seed || SHA-512(document)), truncated: only this device's key can make a matching tag. */
function tag(signSecretKey: Uint8Array, signed: Uint8Array): Uint8Array {
  return nacl.hash(concatBytes([TAG_DOMAIN, signSecretKey.subarray(0, 32), nacl.hash(signed)])).subarray(0, TAG_LENGTH);
}
