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
const TAG_LENGTH = 16;

/** One slot: the signature of the body last signed, the body's hash and issue time, and a tag only this device can make. */
interface Slot {
  /** SHA-512 of the signed body bytes, first 32 bytes. */
  h: Uint8Array;
  s: Uint8Array;
  /** The body's issuedAt, when it has one (the state report). */
  i?: number;
  t: Uint8Array;
}

/**
 * The documents the agent signs at every start and (re)connect whose content rarely changes: the manifest and the
 * owner-channel state report. An Ed25519 signature costs about 280 ms in QuickJS; signing an unchanged document
 * again at each boot buys nothing, so the last signature of each slot is kept on flash and used again when the body
 * would encode to exactly the bytes signed last time, by the same key.
 *
 * Only the signature and a hash are kept (about 130 bytes a slot; the manifest itself is several KB): the document is
 * rebuilt from the body as `signDocument` lays it out. Each slot carries a tag keyed with the signing seed, so a
 * corrupted or planted signature is never published: the document is signed afresh instead. The file is rewritten
 * only when a slot is signed anew (a changed manifest, state or key), never at a boot that changed nothing.
 */
export class SignedCache {
  private saving: Promise<void> = Promise.resolve();
  private dirty = false;

  private constructor(private readonly storage: StoragePort, private readonly logger: LoggerPort, private readonly slots: Map<string, Slot>) {}

  /** An unreadable file is an empty cache: the only cost is one signature per slot. */
  static async load(storage: StoragePort, logger: LoggerPort): Promise<SignedCache> {
    const slots = new Map<string, Slot>();
    try {
      const bytes = await storage.read(SIGNED_CACHE_FILE);
      if (bytes !== undefined) {
        for (const [name, entry] of Object.entries(asRecord(decodeCbor(bytes), 'signed cache'))) {
          const slot = asSlot(entry);
          if (slot !== undefined) slots.set(name, slot);
        }
      }
    } catch {
      logger.warn('signed-document cache unreadable; documents are signed again', {});
    }
    return new SignedCache(storage, logger, slots);
  }

  /**
   * The signed document of `build(stamp)`. `stamp` is the issue time of the cached signature when there is one (so
   * a body that differs from the signed one only by its issue time is the same document) and `now` otherwise.
   */
  sign(name: string, signSecretKey: Uint8Array, now: number, build: (stamp: number) => unknown): Uint8Array {
    const signer = keyId(signSecretKey.subarray(32));
    const slot = this.slots.get(name);
    if (slot !== undefined && equalBytes(slot.t, tag(signSecretKey, slot))) {
      const b = encodeCbor(build(slot.i ?? now));
      if (equalBytes(digest(b), slot.h)) return encodeCbor({ b, k: signer, s: slot.s });
    }
    const body = build(now) as { issuedAt?: unknown } | undefined;
    const signed = signDocument(body, signSecretKey);
    const { b, s } = parseSignedDocument(signed);
    const next: Slot = { h: digest(b), s: s.slice(), t: new Uint8Array(0), ...(typeof body?.issuedAt === 'number' ? { i: body.issuedAt } : {}) };
    next.t = tag(signSecretKey, next);
    this.slots.set(name, next);
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
    if (this.dirty) return; // a write already queued will carry this slot too
    this.dirty = true;
    this.saving = this.saving.then(() => {
      this.dirty = false;
      return this.storage.writeAtomic(SIGNED_CACHE_FILE, encodeCbor(Object.fromEntries(this.slots)));
    }).catch(() => {
      this.logger.warn('signed-document cache not saved', {});
    });
  }
}

function asSlot(entry: unknown): Slot | undefined {
  const e = entry as Partial<Slot> | null;
  if (e === null || typeof e !== 'object' || !(e.h instanceof Uint8Array) || !(e.s instanceof Uint8Array) || !(e.t instanceof Uint8Array)) return undefined;
  if (e.i !== undefined && typeof e.i !== 'number') return undefined;
  return { h: e.h, s: e.s, t: e.t, ...(e.i === undefined ? {} : { i: e.i }) };
}

function digest(bytes: Uint8Array): Uint8Array {
  return nacl.hash(bytes).subarray(0, 32);
}

/** SHA-512(domain || seed || hash || signature), truncated: only this device's key can make a matching tag. */
function tag(signSecretKey: Uint8Array, slot: Pick<Slot, 'h' | 's'>): Uint8Array {
  return nacl.hash(concatBytes([TAG_DOMAIN, signSecretKey.subarray(0, 32), slot.h, slot.s])).subarray(0, TAG_LENGTH);
}
