import { encodeCbor } from './cbor.js';
import { utf8Encode } from './utf8.js';

/**
 * Byte-exact writer for the two fixed-layout maps of the v1 envelope (outer map and inner header).
 *
 * Why not just encodeCbor: the header is the same for every envelope of a session except seq and ts, and the
 * generic encoder costs more than the box itself on the seal path (issue target: seal <= 1.5x the floor).
 * So the constant parts are built once per (keys, session, device, stream) and only seq, ts, nonce and
 * ciphertext are written per envelope. The bytes equal what cbor-x writes with the options of cbor.ts
 * (map heads `b9 00 NN`, shortest uint heads, integers >= 2^32 as float64): test/envelope-wire.test.ts
 * checks this against encodeCbor, and the golden vector pins it.
 */

function headLength(value: number): number {
  return value < 24 ? 1 : value < 0x100 ? 2 : value < 0x10000 ? 3 : 5;
}

/** A CBOR head (major type + length), shortest form, for lengths below 2^32. */
function writeHead(out: Uint8Array, pos: number, major: number, value: number): number {
  const m = major << 5;
  if (value < 24) {
    out[pos] = m | value;
    return pos + 1;
  }
  if (value < 0x100) {
    out[pos] = m | 24;
    out[pos + 1] = value;
    return pos + 2;
  }
  if (value < 0x10000) {
    out[pos] = m | 25;
    out[pos + 1] = value >>> 8;
    out[pos + 2] = value & 0xff;
    return pos + 3;
  }
  out[pos] = m | 26;
  out[pos + 1] = value >>> 24;
  out[pos + 2] = (value >>> 16) & 0xff;
  out[pos + 3] = (value >>> 8) & 0xff;
  out[pos + 4] = value & 0xff;
  return pos + 5;
}

const float = new DataView(new ArrayBuffer(8));

/** An unsigned safe integer as cbor-x writes it: uint head below 2^32, float64 (0xfb) above. */
function numberLength(value: number): number {
  return value < 0x100000000 ? headLength(value) : 9;
}

function writeNumber(out: Uint8Array, pos: number, value: number): number {
  if (value < 0x100000000) return writeHead(out, pos, 0, value);
  out[pos] = 0xfb;
  float.setFloat64(0, value);
  for (let i = 0; i < 8; i++) out[pos + 1 + i] = float.getUint8(i);
  return pos + 9;
}

/** Concatenate encoded pieces: text keys, byte strings, numbers, raw bytes. */
type Piece = { text: string } | { bytes: Uint8Array } | { uint: number } | { raw: Uint8Array };

function build(pieces: readonly Piece[]): Uint8Array {
  const parts = pieces.map((piece): Uint8Array => {
    if ('raw' in piece) return piece.raw;
    if ('uint' in piece) {
      const out = new Uint8Array(numberLength(piece.uint));
      writeNumber(out, 0, piece.uint);
      return out;
    }
    const body = 'text' in piece ? utf8Encode(piece.text) : piece.bytes;
    const out = new Uint8Array(headLength(body.length) + body.length);
    out.set(body, writeHead(out, 0, 'text' in piece ? 3 : 2, body.length));
    return out;
  });
  const total = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let pos = 0;
  for (const part of parts) {
    total.set(part, pos);
    pos += part.length;
  }
  return total;
}

/** cbor-x always writes an object's map head as `b9` + 16-bit count. */
const mapHead = (count: number): Piece => ({ raw: Uint8Array.of(0xb9, count >>> 8, count & 0xff) });

export interface TemplateKeys {
  alg: number;
  recipientKeyId: Uint8Array;
  senderKeyId: Uint8Array;
  sessionId: Uint8Array;
  deviceId: string;
  stream: string;
}

const TS_KEY = build([{ text: 'ts' }]);
const N_KEY = build([{ text: 'n' }]);
const CT_KEY = build([{ text: 'ct' }]);
const R_KEY = build([{ text: 'r' }]);

/** The constant bytes of one sender's envelopes, and the per-envelope assembly around them. */
export class EnvelopeTemplate {
  /** Outer map from its head up to and including the `seq` key. */
  private readonly outerPrefix: Uint8Array;
  /** Inner map from its head up to and including the `seq` key. */
  private readonly innerPrefix: Uint8Array;

  constructor(keys: TemplateKeys) {
    const { recipientKeyId: rk, senderKeyId: sk, sessionId: sid } = keys;
    this.outerPrefix = build([
      mapHead(9), { text: 'v' }, { uint: 1 }, { text: 'alg' }, { uint: keys.alg },
      { text: 'rk' }, { bytes: rk }, { text: 'sk' }, { bytes: sk }, { text: 'sid' }, { bytes: sid }, { text: 'seq' },
    ]);
    this.innerPrefix = build([
      mapHead(8), { text: 'dev' }, { text: keys.deviceId }, { text: 'st' }, { text: keys.stream },
      { text: 'rk' }, { bytes: rk }, { text: 'sk' }, { bytes: sk }, { text: 'sid' }, { bytes: sid }, { text: 'seq' },
    ]);
  }

  /** Length of the plaintext: inner header + `r` + the readings array already encoded by cbor-x. */
  innerLength(seq: number, ts: number, readings: Uint8Array): number {
    return this.innerPrefix.length + numberLength(seq) + TS_KEY.length + numberLength(ts) + R_KEY.length + readings.length;
  }

  writeInner(out: Uint8Array, pos: number, seq: number, ts: number, readings: Uint8Array): void {
    pos = writeNumber(out, put(out, pos, this.innerPrefix), seq);
    pos = writeNumber(out, put(out, pos, TS_KEY), ts);
    out.set(readings, put(out, pos, R_KEY));
  }

  /** The plaintext as one array (vectors, suites without in-place sealing). */
  inner(seq: number, ts: number, readings: Uint8Array): Uint8Array {
    const out = new Uint8Array(this.innerLength(seq, ts, readings));
    this.writeInner(out, 0, seq, ts, readings);
    return out;
  }

  /** Length of the outer map up to where the ciphertext bytes start. */
  outerHeadLength(seq: number, ts: number, nonceLength: number, ciphertextLength: number): number {
    return (
      this.outerPrefix.length + numberLength(seq) + TS_KEY.length + numberLength(ts) +
      N_KEY.length + headLength(nonceLength) + nonceLength + CT_KEY.length + headLength(ciphertextLength)
    );
  }

  /** Writes the outer map up to the ciphertext; returns where the ciphertext goes. */
  writeOuterHead(out: Uint8Array, seq: number, ts: number, nonce: Uint8Array, ciphertextLength: number): number {
    let pos = writeNumber(out, put(out, 0, this.outerPrefix), seq);
    pos = writeNumber(out, put(out, pos, TS_KEY), ts);
    pos = put(out, writeHead(out, put(out, pos, N_KEY), 2, nonce.length), nonce);
    return writeHead(out, put(out, pos, CT_KEY), 2, ciphertextLength);
  }

  outer(seq: number, ts: number, nonce: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    const head = this.outerHeadLength(seq, ts, nonce.length, ciphertext.length);
    const out = new Uint8Array(head + ciphertext.length);
    out.set(ciphertext, this.writeOuterHead(out, seq, ts, nonce, ciphertext.length));
    return out;
  }
}

function put(out: Uint8Array, pos: number, bytes: Uint8Array): number {
  out.set(bytes, pos);
  return pos + bytes.length;
}
