import { TrustError } from '../errors.js';
import { utf8Encode } from './utf8.js';

/**
 * The explicit CBOR writer of envelope v2 (docs/protocol.md, "Envelope v2 encoding"). Every head is in its shortest
 * form, maps keep the insertion order of their keys, and numbers follow one rule so two implementations write the
 * same bytes: an integer of magnitude below 2^32 is a major type 0/1 integer; any other number is the shortest of
 * float16, float32 and float64 that holds it exactly. No tags, definite lengths only: the strict decoder reads it.
 */
export type CompactValue = number | string | boolean | null | Uint8Array | readonly CompactValue[] | { readonly [key: string]: CompactValue };

export class CompactWriter {
  private buf = new Uint8Array(256);
  private pos = 0;

  bytes(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }

  /** Start over, keeping the buffer: one writer serves every envelope of a sealer (the seal path is hot). */
  reset(): this {
    this.pos = 0;
    return this;
  }

  get length(): number {
    return this.pos;
  }

  head(major: number, value: number): void {
    this.room(9);
    const m = major << 5;
    if (value < 24) this.buf[this.pos++] = m | value;
    else if (value < 0x100) this.put2(m | 24, value);
    else if (value < 0x10000) {
      this.buf[this.pos++] = m | 25;
      this.buf[this.pos++] = value >>> 8;
      this.buf[this.pos++] = value & 0xff;
    } else {
      this.buf[this.pos++] = m | 26;
      for (let shift = 24; shift >= 0; shift -= 8) this.buf[this.pos++] = (value >>> shift) & 0xff;
    }
  }

  number(value: number): void {
    if (Number.isInteger(value) && value >= -0x100000000 && value < 0x100000000) {
      if (value >= 0) this.head(0, value);
      else this.head(1, -1 - value);
      return;
    }
    this.float(value);
  }

  text(value: string): void {
    const n = value.length;
    let ascii = true;
    for (let i = 0; i < n && ascii; i++) ascii = value.charCodeAt(i) < 0x80;
    if (!ascii) {
      const body = utf8Encode(value);
      this.head(3, body.length);
      this.raw(body);
      return;
    }
    // Keys and names are ASCII: written straight into the buffer, no intermediate array.
    this.head(3, n);
    this.room(n);
    for (let i = 0; i < n; i++) this.buf[this.pos++] = value.charCodeAt(i);
  }

  byteString(value: Uint8Array): void {
    this.head(2, value.length);
    this.raw(value);
  }

  raw(bytes: Uint8Array): void {
    this.room(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  value(value: unknown, depth = 0): void {
    if (depth > 16) throw new TrustError('INVALID_READING', 'data nests too deeply for an envelope');
    if (typeof value === 'number') this.number(value);
    else if (typeof value === 'string') this.text(value);
    else if (typeof value === 'boolean') this.put1(value ? 0xf5 : 0xf4);
    else if (value === null) this.put1(0xf6);
    else if (value instanceof Uint8Array) this.byteString(value);
    else if (Array.isArray(value)) {
      this.head(4, value.length);
      for (const item of value) this.value(item, depth + 1);
    } else if (typeof value === 'object' && isPlainObject(value)) {
      const entries = Object.entries(value as Record<string, unknown>);
      this.head(5, entries.length);
      for (const [key, item] of entries) {
        this.text(key);
        this.value(item, depth + 1);
      }
    } else throw new TrustError('INVALID_READING', `a ${typeof value} cannot travel in an envelope`);
  }

  private float(value: number): void {
    const half = halfBits(value);
    if (half !== undefined) {
      this.room(3);
      this.buf[this.pos++] = 0xf9;
      this.buf[this.pos++] = half >>> 8;
      this.buf[this.pos++] = half & 0xff;
      return;
    }
    this.room(9);
    const view = new DataView(this.buf.buffer, this.pos + 1, 8);
    if (Math.fround(value) === value) {
      this.buf[this.pos] = 0xfa;
      view.setFloat32(0, value);
      this.pos += 5;
    } else {
      this.buf[this.pos] = 0xfb;
      view.setFloat64(0, value);
      this.pos += 9;
    }
  }

  private put1(byte: number): void {
    this.room(1);
    this.buf[this.pos++] = byte;
  }

  private put2(a: number, b: number): void {
    this.buf[this.pos++] = a;
    this.buf[this.pos++] = b;
  }

  private room(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + extra));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }
}

/** IEEE 754 half-precision bits of `value` when it holds it exactly (NaN and the infinities included), else undefined. */
export function halfBits(value: number): number | undefined {
  if (Number.isNaN(value)) return 0x7e00;
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const magnitude = Math.abs(value);
  if (magnitude === Infinity) return sign | 0x7c00;
  if (magnitude === 0) return sign;
  let exponent = Math.floor(Math.log2(magnitude));
  if (2 ** exponent > magnitude) exponent--;
  if (2 ** (exponent + 1) <= magnitude) exponent++;
  if (exponent > 15) return undefined;
  if (exponent >= -14) {
    const mantissa = magnitude * 2 ** (10 - exponent) - 1024;
    return Number.isInteger(mantissa) ? sign | ((exponent + 15) << 10) | mantissa : undefined;
  }
  const subnormal = magnitude * 2 ** 24;
  return Number.isInteger(subnormal) && subnormal < 1024 ? sign | subnormal : undefined;
}

export function encodeCompact(value: unknown): Uint8Array {
  const writer = new CompactWriter();
  writer.value(value);
  return writer.bytes();
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}
