import { TrustError } from '../errors.js';
import { utf8DecodeStrict } from './utf8.js';

/**
 * The strict CBOR decoding profile (docs/protocol.md, "Decoding profile"). One pass over the input, each byte
 * read once, each item built once: no tags (so no shared references, records or `new Function`), definite
 * lengths only, text map keys without duplicates or `__proto__`, bounded size, item count and depth. Work is
 * linear in the input length by construction; `DecodeProbe` counts it so a test can hold it to that.
 *
 * Shapes are what the rest of the code has always received: maps are plain objects, arrays are arrays, byte
 * strings are plain Uint8Array copies, integers below 2^53 are numbers and 64-bit heads are bigint.
 */

export interface DecodeLimits {
  /** Largest accepted input, in bytes. */
  maxBytes: number;
  /** Deepest accepted nesting of maps and arrays: the top-level container is at depth 0. */
  maxDepth: number;
  /** Most items (every scalar, container and map key counts one). Default: no more than bytes in the input. */
  maxItems?: number;
}

/** Work counters, filled in as the decoder goes: `items` decoded and `bytes` of string content copied. */
export interface DecodeProbe {
  items: number;
  bytes: number;
}

/** Hard ceiling on maxDepth: the decoder recurses once per level, so this also bounds its stack. */
export const MAX_DECODE_DEPTH = 64;

/** Names of the profile's rules; a rejection message starts with `CBOR [rule]` so logs and tests can tell them apart. */
export type ProfileRule =
  | 'empty' | 'size' | 'items' | 'depth' | 'truncated' | 'length' | 'trailing' | 'indefinite' | 'tag'
  | 'simple' | 'reserved' | 'key-type' | 'duplicate-key' | 'proto-key' | 'utf8';

function violation(rule: ProfileRule, detail: string, at: number): TrustError {
  const code = rule === 'size' || rule === 'items' ? 'OVERSIZED' : 'MALFORMED';
  return new TrustError(code, `CBOR [${rule}] ${detail} at offset ${at}`);
}

const hasOwn = Object.prototype.hasOwnProperty;

class StrictReader {
  private pos = 0;
  private items = 0;
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly maxDepth: number,
    private readonly maxItems: number,
    private readonly probe: DecodeProbe | undefined,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  decodeAll(): unknown {
    const value = this.item(0);
    if (this.pos !== this.bytes.length) throw violation('trailing', `${this.bytes.length - this.pos} bytes after the item`, this.pos);
    return value;
  }

  private item(depth: number): unknown {
    const start = this.pos;
    if (++this.items > this.maxItems) throw violation('items', `more than ${this.maxItems} items`, start);
    if (this.probe !== undefined) this.probe.items++;
    const initial = this.byte();
    const major = initial >> 5;
    const info = initial & 31;
    if (major === 7) return this.simple(info, start);
    if (major === 6) throw violation('tag', 'tags are not allowed', start);
    if (info === 31) throw violation('indefinite', 'indefinite lengths are not allowed', start);
    const argument = this.argument(info, start);
    switch (major) {
      case 0: return argument;
      case 1: return typeof argument === 'bigint' ? -1n - argument : -1 - argument;
      case 2: return this.byteString(this.length(argument, 1, start)).slice();
      case 3: return this.text(this.length(argument, 1, start), start);
      case 4: return this.array(this.length(argument, 1, start), depth, start);
      default: return this.map(this.length(argument, 2, start), depth, start);
    }
  }

  private byte(): number {
    const value = this.bytes[this.pos];
    if (value === undefined) throw violation('truncated', 'input ends inside an item', this.pos);
    this.pos++;
    return value;
  }

  private need(count: number): void {
    if (this.bytes.length - this.pos < count) throw violation('truncated', 'input ends inside an item', this.pos);
  }

  /** The head's argument. 64-bit arguments are bigint, as cbor-x has always returned them. */
  private argument(info: number, start: number): number | bigint {
    if (info < 24) return info;
    const at = this.pos;
    switch (info) {
      case 24: this.need(1); this.pos += 1; return this.view.getUint8(at);
      case 25: this.need(2); this.pos += 2; return this.view.getUint16(at);
      case 26: this.need(4); this.pos += 4; return this.view.getUint32(at);
      case 27: this.need(8); this.pos += 8; return this.view.getBigUint64(at);
      default: throw violation('reserved', `reserved additional information ${info}`, start);
    }
  }

  /**
   * A declared length or count, checked against what is left of the input before anything is allocated:
   * every element takes at least `minBytesEach` bytes, so a count that cannot fit is a lie.
   */
  private length(argument: number | bigint, minBytesEach: number, start: number): number {
    const left = this.bytes.length - this.pos;
    if (typeof argument === 'bigint' || argument * minBytesEach > left) {
      throw violation('length', `declared length ${argument} exceeds the ${left} bytes left`, start);
    }
    return argument;
  }

  private byteString(length: number): Uint8Array {
    const at = this.pos;
    this.pos += length;
    if (this.probe !== undefined) this.probe.bytes += length;
    return this.bytes.subarray(at, at + length);
  }

  private text(length: number, start: number): string {
    const text = utf8DecodeStrict(this.byteString(length));
    if (text === undefined) throw violation('utf8', 'text is not valid UTF-8', start);
    return text;
  }

  private array(count: number, depth: number, start: number): unknown[] {
    if (depth >= this.maxDepth) throw violation('depth', `nesting deeper than ${this.maxDepth}`, start);
    const out: unknown[] = [];
    for (let i = 0; i < count; i++) out.push(this.item(depth + 1));
    return out;
  }

  private map(count: number, depth: number, start: number): Record<string, unknown> {
    if (depth >= this.maxDepth) throw violation('depth', `nesting deeper than ${this.maxDepth}`, start);
    const out: Record<string, unknown> = {};
    for (let i = 0; i < count; i++) {
      const keyAt = this.pos;
      // Checked on the head, before the key is decoded: a key that is a container is never built.
      if (((this.bytes[keyAt] ?? 0x60) >> 5) !== 3) throw violation('key-type', 'map keys must be text', keyAt);
      const key = this.item(depth + 1);
      if (typeof key !== 'string') throw violation('key-type', 'map keys must be text', keyAt);
      // Assigning `__proto__` would replace the object's prototype instead of adding a field.
      if (key === '__proto__') throw violation('proto-key', 'map key __proto__ is not allowed', keyAt);
      if (hasOwn.call(out, key)) throw violation('duplicate-key', `map key ${JSON.stringify(key.slice(0, 32))} repeats`, keyAt);
      out[key] = this.item(depth + 1);
    }
    return out;
  }

  private simple(info: number, start: number): unknown {
    const at = this.pos;
    switch (info) {
      case 20: return false;
      case 21: return true;
      case 22: return null;
      case 23: return undefined;
      case 25: this.need(2); this.pos += 2; return halfToNumber(this.view.getUint16(at));
      case 26: this.need(4); this.pos += 4; return this.view.getFloat32(at);
      case 27: this.need(8); this.pos += 8; return this.view.getFloat64(at);
      case 31: throw violation('indefinite', 'break outside an indefinite-length item', start);
      default:
        if (info >= 28) throw violation('reserved', `reserved additional information ${info}`, start);
        throw violation('simple', 'simple values other than false, true, null and undefined are not allowed', start);
    }
  }
}

/** IEEE 754 half precision (RFC 8949 appendix D). */
function halfToNumber(half: number): number {
  const exponent = (half >> 10) & 0x1f;
  const mantissa = half & 0x3ff;
  const sign = half & 0x8000 ? -1 : 1;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1024 + mantissa) * 2 ** (exponent - 25);
}

let meter: DecodeProbe | undefined;

/**
 * Instrumentation for the fuzzer and tests: while a meter is set, every decode that gets no probe of its own adds
 * its work to it, so the work of a whole input path (outer document, body, plaintext) can be held to a bound.
 */
export function setDecodeMeter(probe: DecodeProbe | undefined): void {
  meter = probe;
}

function checkLimits(limits: DecodeLimits): void {
  const { maxBytes, maxDepth, maxItems } = limits;
  const count = (value: number) => Number.isSafeInteger(value) && value >= 0;
  if (!count(maxBytes) || !count(maxDepth) || maxDepth > MAX_DECODE_DEPTH || (maxItems !== undefined && !count(maxItems))) {
    throw new TrustError('INVALID_ARGUMENT', `decode limits must be whole numbers, maxDepth at most ${MAX_DECODE_DEPTH}`);
  }
}

/**
 * Decode untrusted bytes under the strict profile. Size is checked before the first byte is read; every other
 * rule as the decoder reaches it. Anything off-profile is `MALFORMED` (or `OVERSIZED` for size and item
 * count), never a crash and never more than linear work.
 */
export function decodeStrict(bytes: Uint8Array, limits: DecodeLimits, probe?: DecodeProbe): unknown {
  if (!(bytes instanceof Uint8Array)) throw new TrustError('INVALID_ARGUMENT', 'bytes must be a Uint8Array');
  checkLimits(limits);
  if (bytes.length > limits.maxBytes) throw violation('size', `input of ${bytes.length} bytes exceeds ${limits.maxBytes}`, 0);
  if (bytes.length === 0) throw violation('empty', 'empty input', 0);
  const maxItems = Math.min(limits.maxItems ?? bytes.length, bytes.length);
  return new StrictReader(bytes, limits.maxDepth, maxItems, probe ?? meter).decodeAll();
}
