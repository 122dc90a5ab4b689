import nacl from 'tweetnacl';
import { hostRandom, keyMaterial, type RandomSource } from '../crypto/random.js';
import { utf8Encode } from '../codec/utf8.js';
import { TrustError } from '../errors.js';
import { toHex } from '../crypto/keys.js';
import type { StoragePort } from '../ports/storage.js';

const BLOCK = 128; // SHA-512 block size in bytes
export const PSEUDONYM_SECRET_FILE = 'policy/pseudonym.key';
export const SECRET_LENGTH = 32;
/** 12 bytes (96 bits): collision-free for any realistic number of people on one device, short on the wire. */
const TOKEN_BYTES = 12;

/** HMAC-SHA-512 (RFC 2104) from tweetnacl's SHA-512: the core has no other hash and must run on bare engines. */
export function hmacSha512(key: Uint8Array, message: Uint8Array): Uint8Array {
  const k = key.length > BLOCK ? nacl.hash(key) : key;
  const inner = new Uint8Array(BLOCK + message.length);
  const outer = new Uint8Array(BLOCK + 64);
  for (let i = 0; i < BLOCK; i++) {
    const byte = k[i] ?? 0;
    inner[i] = byte ^ 0x36;
    outer[i] = byte ^ 0x5c;
  }
  inner.set(message, BLOCK);
  outer.set(nacl.hash(inner), BLOCK);
  return nacl.hash(outer);
}

/**
 * Keyed pseudonyms with a key per epoch: token = HMAC(epochKey, scope || 0 || value), epochKey = HMAC(secret,
 * "pseudonym-epoch" || epochMs || index). The same value maps to the same token within one epoch of one scope only;
 * without the device secret a token reveals nothing about the value. Epoch keys are cached (a handful at most).
 */
export class Pseudonymiser {
  private readonly epochKeys = new Map<string, Uint8Array>();
  /** Recent tokens (a GPS track repeats its id every second); small, and dropped with the epoch keys. */
  private readonly recent = new Map<string, string>();

  constructor(private readonly secret: Uint8Array) {
    if (secret.length !== SECRET_LENGTH) throw new TrustError('INVALID_ARGUMENT', `pseudonym secret must be ${SECRET_LENGTH} bytes`);
  }

  token(scope: string, value: string, at: number, epochMs: number): string {
    const index = Math.floor(at / epochMs);
    const cacheKey = `${epochMs}/${index}\u0000${scope}\u0000${value}`;
    const cached = this.recent.get(cacheKey);
    if (cached !== undefined) return cached;
    const mac = hmacSha512(this.epochKey(index, epochMs), utf8Encode(`${scope}\u0000${value}`));
    const token = toHex(mac.subarray(0, TOKEN_BYTES));
    if (this.recent.size >= 64) this.recent.clear();
    this.recent.set(cacheKey, token);
    return token;
  }

  private epochKey(index: number, epochMs: number): Uint8Array {
    const id = `${epochMs}/${index}`;
    let key = this.epochKeys.get(id);
    if (key === undefined) {
      key = hmacSha512(this.secret, utf8Encode(`pseudonym-epoch\u0000${id}`));
      // Bounded: readings arrive in time order, so only the current and maybe the previous epoch matter.
      if (this.epochKeys.size >= 8) {
        this.epochKeys.clear();
        this.recent.clear();
      }
      this.epochKeys.set(id, key);
    }
    return key;
  }
}

/** Read the device's pseudonym secret, or create it once (from the agent's random source). */
export async function loadOrCreatePseudonymSecret(storage: StoragePort, random: RandomSource = hostRandom): Promise<{ secret: Uint8Array; created: boolean }> {
  const stored = await storage.read(PSEUDONYM_SECRET_FILE);
  if (stored !== undefined && stored.length === SECRET_LENGTH) return { secret: stored.slice(), created: false };
  // A missing or damaged secret is replaced: that only changes future tokens, which rotate anyway.
  return { secret: await rotatePseudonymSecret(storage, random), created: true };
}

/** New secret: all future tokens become unlinkable to past ones (e.g. on ownership transfer). */
export async function rotatePseudonymSecret(storage: StoragePort, random: RandomSource = hostRandom): Promise<Uint8Array> {
  const secret = keyMaterial(random, SECRET_LENGTH);
  await storage.writeAtomic(PSEUDONYM_SECRET_FILE, secret);
  return secret;
}
