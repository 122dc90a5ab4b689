import { concatBytes } from '../agent/codec/bytes.js';
import { encodeCbor } from '../agent/codec/cbor.js';
import { attackClasses, bytesItem, constructorTag, deepArrays, head, indefiniteArray, indefiniteBytes, sharedReferenceDag, signedShell, tag, text, wideMap } from './shapes.js';

/**
 * Input generation for the fuzzer and the property tests: a seeded PRNG (same seed, same bytes), a structure-aware
 * generator that writes CBOR token by token (valid and hostile heads alike), and byte-level mutations.
 */

export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }

  /** xorshift32: tiny, fast, and the same on every engine. */
  next(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state;
  }

  below(n: number): number {
    return n <= 0 ? 0 : this.next() % n;
  }

  chance(percent: number): boolean {
    return this.below(100) < percent;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)] as T;
  }

  bytes(length: number): Uint8Array {
    return Uint8Array.from({ length }, () => this.below(256));
  }
}

const KEYS = ['v', 'b', 'k', 's', 'kind', 'clientToken', 'deviceId', 'desired', 'd', 'r', 'ct', '__proto__', 'constructor', ''];
const INTERESTING_HEADS = [0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1f, 0x5f, 0x7f, 0x9f, 0xbf, 0xff, 0xd8, 0xd9, 0xdb, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb];

/** A random data-model value of the kind the agent exchanges: maps with text keys, numbers, text, bytes. */
export function randomValue(rng: Rng, depth = 0): unknown {
  const kind = rng.below(depth > 4 ? 6 : 9);
  switch (kind) {
    case 0: return rng.below(2 ** 16);
    case 1: return rng.chance(50) ? -rng.below(1000) - 1 : 1_767_225_600_000 + rng.below(1e6);
    case 2: return rng.below(1e6) / 7;
    case 3: return rng.pick(KEYS.filter((k) => k !== '__proto__')) + rng.below(100).toString(36);
    case 4: return rng.bytes(rng.below(40));
    case 5: return rng.pick([true, false, null]);
    case 6: return Array.from({ length: rng.below(5) }, () => randomValue(rng, depth + 1));
    default: {
      const out: Record<string, unknown> = {};
      for (let i = rng.below(6); i > 0; i--) out[rng.pick(KEYS.filter((k) => k !== '__proto__'))] = randomValue(rng, depth + 1);
      return out;
    }
  }
}

/** Structure-aware: CBOR written item by item, mixing honest items with tags, indefinite heads and lies. */
export function structuredItem(rng: Rng, depth = 0): Uint8Array {
  const choice = rng.below(depth > 6 ? 5 : 14);
  switch (choice) {
    case 0: return head(0, rng.below(2 ** 32));
    case 1: return head(1, rng.below(300));
    case 2: return text(rng.pick(KEYS));
    case 3: return bytesItem(rng.bytes(rng.below(24)));
    case 4: return Uint8Array.of(rng.pick([0xf4, 0xf5, 0xf6, 0xf7, 0xf0, 0xf8, 0xff, 0x1c, 0xfb]), ...rng.bytes(rng.below(9)));
    case 5: return Uint8Array.of(rng.pick(INTERESTING_HEADS), ...rng.bytes(rng.below(9)));
    case 6: return tag(rng.pick([0, 1, 2, 27, 28, 29, 55799, 0xdfff, 0xe000]), structuredItem(rng, depth + 1));
    case 7: return concatBytes([Uint8Array.of(rng.pick([0x9f, 0xbf, 0x5f, 0x7f])), structuredItem(rng, depth + 1), Uint8Array.of(0xff)]);
    case 8: return concatBytes([head(4, rng.below(4)), ...Array.from({ length: rng.below(4) }, () => structuredItem(rng, depth + 1))]);
    case 9: return concatBytes([head(4, rng.chance(20) ? rng.below(2 ** 32) : rng.below(3)), structuredItem(rng, depth + 1)]);
    default: {
      const pairs = rng.below(4);
      const parts = [head(5, rng.chance(15) ? pairs + 1 + rng.below(2 ** 20) : pairs)];
      for (let i = 0; i < pairs; i++) {
        parts.push(rng.chance(90) ? text(rng.pick(KEYS)) : structuredItem(rng, depth + 1));
        parts.push(structuredItem(rng, depth + 1));
      }
      return concatBytes(parts);
    }
  }
}

/** Byte-level mutations: flips, interesting heads, inserts, deletes, splices, truncation, duplication. */
export function mutate(rng: Rng, input: Uint8Array, donors: readonly Uint8Array[]): Uint8Array {
  let bytes: Uint8Array = input.slice();
  for (let round = 1 + rng.below(4); round > 0; round--) {
    const at = rng.below(bytes.length + 1);
    switch (rng.below(8)) {
      case 0: if (at < bytes.length) bytes[at] = (bytes[at] ?? 0) ^ (1 << rng.below(8)); break;
      case 1: if (at < bytes.length) bytes[at] = rng.pick(INTERESTING_HEADS); break;
      case 2: bytes = concatBytes([bytes.subarray(0, at), rng.bytes(1 + rng.below(8)), bytes.subarray(at)]); break;
      case 3: bytes = concatBytes([bytes.subarray(0, at), bytes.subarray(at + 1 + rng.below(8))]); break;
      case 4: bytes = bytes.subarray(0, at); break;
      case 5: {
        const donor = donors.length > 0 ? rng.pick(donors) : bytes;
        const from = rng.below(donor.length);
        bytes = concatBytes([bytes.subarray(0, at), donor.subarray(from, from + 1 + rng.below(64)), bytes.subarray(at)]);
        break;
      }
      case 6: bytes = concatBytes([bytes.subarray(0, at), bytes.subarray(at, at + 1 + rng.below(32)), bytes.subarray(at)]); break;
      default: bytes = concatBytes([bytes.subarray(0, at), structuredItem(rng), bytes.subarray(at)]);
    }
  }
  return bytes;
}

let shapes: Uint8Array[] | undefined;

/** The hostile shapes, at sizes a device could receive (built once). */
export function amplificationShapes(): Uint8Array[] {
  return (shapes ??= [
    sharedReferenceDag(8, 17), sharedReferenceDag(4, 60), deepArrays(4000), wideMap(600), indefiniteBytes(2000), indefiniteArray(4000),
    constructorTag('RegExp', '(a+)+$'), ...attackClasses().map((attack) => attack.bytes),
  ]);
}

/** One adversarial input per seed: an honest encoding, a structured one or a hostile shape, often mutated. */
export function adversarialBytes(seed: number): Uint8Array {
  const rng = new Rng(seed);
  const shapes = amplificationShapes();
  const base = [
    () => encodeCbor(randomValue(rng)),
    () => structuredItem(rng),
    () => rng.pick(shapes),
    () => signedShell(rng.chance(50) ? structuredItem(rng) : rng.pick(shapes)),
  ];
  const bytes = rng.pick(base)();
  return rng.chance(60) ? mutate(rng, bytes, shapes) : bytes;
}
