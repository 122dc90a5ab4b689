import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeCbor, encodeCbor, type DecodeLimits, type DecodeProbe } from '../agent/codec/cbor.js';
import { attackClasses, deepArrays, head, map, sharedReferenceDag, text, wideMap } from '../fuzz/shapes.js';
import { adversarialBytes } from '../fuzz/generate.js';

/** The strict decoding profile (docs/protocol.md, "Decoding profile"; issue 10 item 1). */

const LIMITS: DecodeLimits = { maxBytes: 64 * 1024, maxDepth: 8 };
const fromHex = (hex: string) => Uint8Array.from(hex.match(/../g) ?? [], (pair) => parseInt(pair, 16));

function rejection(bytes: Uint8Array, limits = LIMITS): { code: string; message: string } {
  try {
    decodeCbor(bytes, limits);
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error('decoded');
}

/** Nodes reachable from a decoded value, counting shared ones again (what a depth walk visits); stops at `cap`. */
function reachable(value: unknown, cap: number): number {
  let seen = 0;
  const walk = (node: unknown): void => {
    if (++seen > cap) return;
    if (node === null || typeof node !== 'object' || node instanceof Uint8Array) return;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      walk(child);
      if (seen > cap) return;
    }
  };
  walk(value);
  return seen;
}

describe('every attack class of issue 10 is rejected with a named code and rule', () => {
  for (const attack of attackClasses()) {
    it(`${attack.name}: MALFORMED, rule ${attack.rule}`, () => {
      const error = rejection(attack.bytes);
      expect(error.code).toBe('MALFORMED');
      expect(error.message).toMatch(`CBOR [${attack.rule}]`);
    });
  }

  it('input above maxBytes and more items than maxItems: OVERSIZED, before decoding', () => {
    expect(rejection(new Uint8Array(LIMITS.maxBytes + 1))).toMatchObject({ code: 'OVERSIZED', message: expect.stringContaining('[size]') });
    expect(rejection(wideMap(50), { ...LIMITS, maxItems: 20 })).toMatchObject({ code: 'OVERSIZED', message: expect.stringContaining('[items]') });
    expect(rejection(new Uint8Array(0))).toMatchObject({ code: 'MALFORMED', message: expect.stringContaining('[empty]') });
  });

  it('__proto__ never reaches a prototype, even nested', () => {
    const nested = map([[text('a'), map([[text('__proto__'), map([[text('polluted'), head(0, 1)]])]])]]);
    expect(rejection(nested).message).toContain('[proto-key]');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('limits outside the profile are an argument error, not a deep recursion', () => {
    expect(() => decodeCbor(deepArrays(3), { maxBytes: 10, maxDepth: 10_000 })).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('what devices send today decodes to the same shapes as before', () => {
  it('the golden envelope vector decodes: map head b9, float64 timestamps, byte strings', () => {
    const vector = JSON.parse(readFileSync(new URL('./vectors/envelope-v1.json', import.meta.url), 'utf8')) as { expected: { envelope: string } };
    const outer = decodeCbor(fromHex(vector.expected.envelope), { maxBytes: 4096, maxDepth: 1 }) as Record<string, unknown>;
    expect(Object.keys(outer)).toEqual(['v', 'alg', 'rk', 'sk', 'sid', 'seq', 'ts', 'n', 'ct']);
    expect(outer['ts']).toBe(1_767_225_600_000);
    expect(Object.getPrototypeOf(outer['ct'])).toBe(Uint8Array.prototype); // never a Buffer
    expect(Object.getPrototypeOf(outer)).toBe(Object.prototype);
  });

  const key = fc.string({ maxLength: 8 }).filter((k) => k !== '__proto__');
  const leaf = fc.oneof(
    fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 }), fc.maxSafeInteger(), fc.double().map((d) => (Object.is(d, -0) ? 0 : d)), fc.string({ unit: 'grapheme' }), fc.boolean(), fc.constant(null),
    fc.constant(undefined), fc.uint8Array({ maxLength: 40 }), fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n - 1n }),
  );
  const value = fc.letrec((tie) => ({
    node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, fc.array(tie('node'), { maxLength: 5 }), fc.dictionary(key, tie('node'), { maxKeys: 5 })),
  })).node;

  it('anything the cbor-x encoder writes for our data model round-trips exactly (fast-check)', () => {
    fc.assert(fc.property(value, (input) => {
      const decoded = decodeCbor(encodeCbor(input), LIMITS);
      expect(decoded).toEqual(input);
    }), { numRuns: 400, seed: 10 });
  });

  it('half and single floats from other encoders decode by IEEE 754', () => {
    expect(decodeCbor(fromHex('f93e00'))).toBe(1.5);
    expect(decodeCbor(fromHex('f90001'))).toBe(2 ** -24);
    expect(decodeCbor(fromHex('f97c00'))).toBe(Infinity);
    expect(decodeCbor(fromHex('f9fc00'))).toBe(-Infinity);
    expect(decodeCbor(fromHex('f97e00'))).toBeNaN();
    expect(decodeCbor(fromHex('fa41ac0000'))).toBe(21.5);
    expect(decodeCbor(fromHex('3bffffffffffffffff'))).toBe(-(2n ** 64n));
  });

  it('byte strings are copies: changing the input afterwards changes nothing decoded', () => {
    const bytes = encodeCbor({ b: Uint8Array.of(1, 2, 3) });
    const decoded = decodeCbor(bytes) as { b: Uint8Array };
    bytes.fill(0);
    expect(Array.from(decoded.b)).toEqual([1, 2, 3]);
  });

  it('depth counts containers as before: maxDepth 1 takes a flat map, not a nested one', () => {
    expect(decodeCbor(encodeCbor({ a: 1, b: Uint8Array.of(1) }), { maxBytes: 100, maxDepth: 1 })).toEqual({ a: 1, b: Uint8Array.of(1) });
    expect(rejection(encodeCbor({ a: [] }), { maxBytes: 100, maxDepth: 1 }).message).toContain('[depth]');
  });
});

describe('decode work is linear in the input length (structural bound, no timing)', () => {
  const bound = (bytes: Uint8Array, limits = LIMITS) => {
    const probe: DecodeProbe = { items: 0, bytes: 0 };
    let value: unknown;
    try {
      value = decodeCbor(bytes, limits, probe);
    } catch (error) {
      expect(error).toMatchObject({ name: 'TrustError' });
    }
    // Work done by the decoder, and work a caller's walk over the result can do: both at most ~2 per byte.
    expect(probe.items + probe.bytes).toBeLessThanOrEqual(2 * bytes.length);
    expect(reachable(value, 2 * bytes.length + 2)).toBeLessThanOrEqual(2 * bytes.length + 1);
  };

  it('the amplification shapes: a 450-byte shared-reference graph is never built', () => {
    // cbor-x turns these bytes into 17^7 = 410 million paths; the old depth walk visited every one.
    for (const bytes of [sharedReferenceDag(8, 17), sharedReferenceDag(6, 40), deepArrays(60_000), wideMap(5000)]) {
      bound(bytes, { maxBytes: 1 << 20, maxDepth: 8 });
    }
  });

  it('arbitrary bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => bound(bytes)), { numRuns: 2000, seed: 1 });
  });

  it('adversarial bytes: valid encodings, mutated, spliced with attack shapes', () => {
    fc.assert(fc.property(fc.integer(), (seed) => bound(adversarialBytes(seed))), { numRuns: 2000, seed: 2 });
  });
});
