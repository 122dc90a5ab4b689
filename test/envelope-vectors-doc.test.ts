import { readFileSync } from 'node:fs';
import nacl from 'tweetnacl';
import { describe, expect, it } from 'vitest';

/**
 * Both golden vectors decoded with only what docs/protocol.md states: a CBOR reader written here from RFC 8949 (no
 * project code, no cbor-x), NaCl for the box, SHA-512 for the derived nonce. If the page and the bytes drift apart,
 * this fails. Keep it independent: it stands for someone who has never seen the code.
 */
type Item = number | bigint | string | boolean | null | Uint8Array | Item[] | { [key: string]: Item };

function readCbor(bytes: Uint8Array): Item {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  const arg = (info: number): number => {
    if (info < 24) return info;
    const width = { 24: 1, 25: 2, 26: 4, 27: 8 }[info];
    if (width === undefined) throw new Error(`unsupported additional info ${info}`);
    let value = 0;
    for (let i = 0; i < width; i++) value = value * 256 + (bytes[pos++] as number);
    return value;
  };
  const half = (bits: number): number => {
    const exp = (bits >> 10) & 0x1f;
    const mant = bits & 0x3ff;
    const mag = exp === 0 ? mant * 2 ** -24 : exp === 31 ? (mant ? NaN : Infinity) : (1 + mant / 1024) * 2 ** (exp - 15);
    return bits & 0x8000 ? -mag : mag;
  };
  const item = (): Item => {
    const head = bytes[pos++] as number;
    const major = head >> 5;
    const info = head & 0x1f;
    if (major === 7) {
      if (info === 20) return false;
      if (info === 21) return true;
      if (info === 22) return null;
      const at = pos;
      if (info === 25) return (pos += 2), half(view.getUint16(at));
      if (info === 26) return (pos += 4), view.getFloat32(at);
      if (info === 27) return (pos += 8), view.getFloat64(at);
      throw new Error(`simple value ${info}`);
    }
    const n = arg(info);
    if (major === 0) return n;
    if (major === 1) return -1 - n;
    if (major === 2 || major === 3) {
      const body = bytes.slice(pos, (pos += n));
      return major === 2 ? body : new TextDecoder().decode(body);
    }
    if (major === 4) return Array.from({ length: n }, item);
    if (major === 5) {
      const out: Record<string, Item> = {};
      for (let i = 0; i < n; i++) out[item() as string] = item();
      return out;
    }
    throw new Error(`major type ${major} is not used by the envelopes`);
  };
  const value = item();
  if (pos !== bytes.length) throw new Error('trailing bytes');
  return value;
}

const hex = (h: string): Uint8Array => Uint8Array.from(h.match(/../g) ?? [], (b) => parseInt(b, 16));
const load = (name: string) => JSON.parse(readFileSync(new URL(`./vectors/${name}`, import.meta.url), 'utf8'));
/** "the first 8 bytes of SHA-512 of the public key" */
const keyIdOf = (publicKey: Uint8Array): Uint8Array => nacl.hash(publicKey).slice(0, 8);

describe('the golden vectors, decoded from docs/protocol.md alone', () => {
  it('v1: outer map, box.open.after with n, inner map with authenticated copies, readings with s q c t x d', () => {
    const v = load('envelope-v1.json');
    const outer = readCbor(hex(v.expected.envelope)) as Record<string, Item>;
    expect(Object.keys(outer)).toEqual(['v', 'alg', 'rk', 'sk', 'sid', 'seq', 'ts', 'n', 'ct']);
    expect(outer['v']).toBe(1);
    expect(outer['rk']).toEqual(keyIdOf(hex(v.keys.collectorPublicKey)));
    const shared = nacl.box.before(hex(v.keys.deviceBoxPublicKey), hex(v.keys.collectorSecretKey));
    const plain = nacl.box.open.after(outer['ct'] as Uint8Array, outer['n'] as Uint8Array, shared);
    expect(plain).not.toBeNull();
    const inner = readCbor(plain!) as Record<string, Item>;
    expect(Object.keys(inner)).toEqual(['dev', 'st', 'rk', 'sk', 'sid', 'seq', 'ts', 'r']);
    for (const k of ['rk', 'sk', 'sid', 'seq', 'ts']) expect(inner[k]).toEqual(outer[k]);
    expect([inner['dev'], inner['st']]).toEqual(['thermo-1', 'telemetry']);
    const readings = (inner['r'] as Array<Record<string, Item>>).map((r) => {
      expect(Object.keys(r)).toEqual(['s', 'q', 'c', 't', 'x', 'd']);
      return { id: { session: r['s'], seq: r['q'] }, category: r['c'], at: r['t'], expiresAt: r['x'], data: r['d'] };
    });
    expect(readings).toEqual(v.inputs.readings);
  });

  it('v2: outer array, nonce = SHA-512(ad), plaintext [T, g, rs, readings], unit-coded deltas, category table', () => {
    const v = load('envelope-v2.json');
    const [version, alg, sid, seq, ct] = readCbor(hex(v.expected.envelope)) as [number, number, Uint8Array, number, Uint8Array];
    expect([version, alg, seq]).toEqual([2, 1, 7]);
    // ad = ["ta-envelope-v2", 2, alg, rk, sk, sid, deviceId, stream], shortest heads, written out by hand;
    // nonce = first 16 bytes of SHA-512(ad), then seq as 8 bytes big-endian.
    const text = (s: string) => [0x60 + s.length, ...new TextEncoder().encode(s)];
    const ad = Uint8Array.from([
      0x88, ...text('ta-envelope-v2'), 0x02, alg, 0x48, ...keyIdOf(hex(v.keys.collectorPublicKey)), 0x48, ...keyIdOf(hex(v.keys.deviceBoxPublicKey)),
      0x48, ...sid, ...text('thermo-1'), ...text('telemetry'),
    ]);
    const nonce = Uint8Array.from([...nacl.hash(ad).slice(0, 16), 0, 0, 0, 0, 0, 0, 0, seq]);
    expect(Array.from(nonce)).toEqual(Array.from(hex(v.expected.nonce)));
    const plain = nacl.box.open.after(ct, nonce, nacl.box.before(hex(v.keys.deviceBoxPublicKey), hex(v.keys.collectorSecretKey)));
    expect(plain).not.toBeNull();
    const [T, g, rs, ...rest] = readCbor(plain!) as [number, number, Uint8Array, ...Item[][]];
    // Table id: first two bytes of SHA-512 over the CBOR array of the names (all shorter than 24 characters here).
    const names: string[] = v.inputs.categories;
    const tableId = nacl.hash(Uint8Array.from([0x80 + names.length, ...names.flatMap(text)]));
    expect(g).toBe(((tableId[0] as number) << 8) | (tableId[1] as number));
    const units = [1, 1000, 60_000, 3_600_000];
    const delta = (e: number): number => Math.sign(e) * Math.floor(Math.abs(e) / 4) * (units[Math.abs(e) % 4] as number);
    const session = Array.from(rs.length === 0 ? sid : rs, (b) => b.toString(16).padStart(2, '0')).join('');
    let q = -1;
    let t = (T as number) * 1000;
    let life = 0;
    const readings = rest.map(([dq, c, dt, dx, d], i) => {
      q = i === 0 ? (dq as number) : q + 1 + (dq as number);
      t += delta(dt as number);
      life += delta(dx as number);
      return { id: { session, seq: q }, category: typeof c === 'number' ? names[c] : c, at: t, expiresAt: t + life, data: d };
    });
    expect(readings).toEqual(v.inputs.readings);
  });
});
