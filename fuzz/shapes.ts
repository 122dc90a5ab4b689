import { concatBytes } from '../agent/codec/bytes.js';
import { encodeCbor } from '../agent/codec/cbor.js';
import { utf8Encode } from '../agent/codec/utf8.js';

/**
 * Hostile CBOR built byte by byte: the attack classes of issue 10, shared by the profile tests, the decode-cost
 * bench and the fuzzer. Each builder returns the exact bytes; none goes through an encoder that could tidy
 * them up.
 */

/** A CBOR head: major type and argument, in the shortest form. */
export function head(major: number, value: number): Uint8Array {
  const m = major << 5;
  if (value < 24) return Uint8Array.of(m | value);
  if (value < 0x100) return Uint8Array.of(m | 24, value);
  if (value < 0x10000) return Uint8Array.of(m | 25, value >> 8, value & 0xff);
  return Uint8Array.of(m | 26, value >>> 24, (value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff);
}

export const text = (value: string): Uint8Array => {
  const bytes = utf8Encode(value);
  return concatBytes([head(3, bytes.length), bytes]);
};
export const bytesItem = (value: Uint8Array): Uint8Array => concatBytes([head(2, value.length), value]);
export const tag = (number: number, content: Uint8Array): Uint8Array => concatBytes([head(6, number), content]);
export const array = (items: readonly Uint8Array[]): Uint8Array => concatBytes([head(4, items.length), ...items]);
export const map = (pairs: ReadonlyArray<readonly [Uint8Array, Uint8Array]>): Uint8Array =>
  concatBytes([head(5, pairs.length), ...pairs.flat()]);

/**
 * cbor-x shared references (tags 28 "shareable" and 29 "sharedref"): `levels` nested arrays, each holding the
 * definition of the level below once and `width - 1` references to it. About `3 * width * levels` bytes that
 * a reference-honouring decoder turns into a graph with `width ** (levels - 1)` paths.
 */
export function sharedReferenceDag(levels: number, width: number): Uint8Array {
  let nextId = 0;
  const level = (k: number): Uint8Array => {
    nextId++; // cbor-x numbers a shareable when it meets the tag, before its content
    if (k === 0) return tag(28, array([text('x')]));
    const below = nextId;
    const inner = level(k - 1);
    const refs = Array.from({ length: width - 1 }, () => tag(29, head(0, below)));
    return tag(28, array([inner, ...refs]));
  };
  return level(levels - 1);
}

/** A cbor-x record: a definition tag then a record tag; cbor-x compiles a reader for it with `new Function`. */
export function recordTags(): Uint8Array {
  // 0xdfff: inline record definition [id, keys, ...values]; 0xe000: a record using that definition.
  const definition = tag(0xdfff, array([head(0, 0xe000), array([text('a'), text('b')]), head(0, 1), head(0, 2)]));
  return array([definition, tag(0xe000, array([head(0, 3), head(0, 4)]))]);
}

/** cbor-x's tag 27 builds `globalThis[name](...)`: an Error, a RegExp, or any other global constructor. */
export const constructorTag = (name: string, argument: string): Uint8Array => tag(27, array([text(name), text(argument)]));

export const deepArrays = (depth: number): Uint8Array => concatBytes([new Uint8Array(depth).fill(0x81), Uint8Array.of(0x00)]);

/** A map of `count` one-letter-ish keys, all distinct: wide but honest. */
export function wideMap(count: number): Uint8Array {
  const pairs: Array<readonly [Uint8Array, Uint8Array]> = [];
  for (let i = 0; i < count; i++) pairs.push([text(i.toString(36)), Uint8Array.of(0)]);
  return map(pairs);
}

/** A long indefinite-length byte string: `chunks` one-byte chunks then a break. */
export function indefiniteBytes(chunks: number): Uint8Array {
  const out = new Uint8Array(2 + chunks * 2);
  out[0] = 0x5f;
  for (let i = 0; i < chunks; i++) out.set([0x41, i & 0xff], 1 + i * 2);
  out[out.length - 1] = 0xff;
  return out;
}

/** An indefinite array of `count` zeros: the shape of a long streamed list. */
export function indefiniteArray(count: number): Uint8Array {
  return concatBytes([Uint8Array.of(0x9f), new Uint8Array(count), Uint8Array.of(0xff)]);
}

/** A signed-document envelope `{b, k, s}` around any body bytes, with a made-up key id and signature. */
export function signedShell(body: Uint8Array): Uint8Array {
  return encodeCbor({ b: body, k: new Uint8Array(8).fill(7), s: new Uint8Array(64).fill(9) });
}

/** One hostile example of every attack class, with the profile rule that must reject it. */
export function attackClasses(): Array<{ name: string; rule: string; bytes: Uint8Array }> {
  const valid = map([[text('a'), head(0, 1)]]);
  return [
    { name: 'shared-reference tags 28/29', rule: 'tag', bytes: sharedReferenceDag(7, 6) },
    { name: 'record tags', rule: 'tag', bytes: recordTags() },
    { name: 'Error as a tag-27 object', rule: 'tag', bytes: constructorTag('Error', 'boom') },
    { name: 'RegExp as a tag-27 object', rule: 'tag', bytes: constructorTag('RegExp', '(a+)+$') },
    { name: 'a date tag', rule: 'tag', bytes: tag(1, head(0, 0)) },
    { name: 'a bignum tag', rule: 'tag', bytes: tag(2, bytesItem(new Uint8Array(9).fill(1))) },
    { name: 'indefinite array', rule: 'indefinite', bytes: indefiniteArray(4) },
    { name: 'indefinite map', rule: 'indefinite', bytes: Uint8Array.of(0xbf, 0x61, 0x61, 0x01, 0xff) },
    { name: 'indefinite byte string', rule: 'indefinite', bytes: indefiniteBytes(4) },
    { name: 'indefinite text', rule: 'indefinite', bytes: Uint8Array.of(0x7f, 0x61, 0x61, 0xff) },
    { name: 'a lone break', rule: 'indefinite', bytes: Uint8Array.of(0xff) },
    { name: 'duplicate map keys', rule: 'duplicate-key', bytes: map([[text('a'), head(0, 1)], [text('a'), head(0, 2)]]) },
    { name: 'over-deep nesting', rule: 'depth', bytes: deepArrays(40) },
    { name: 'map declaring 2^32-1 pairs', rule: 'length', bytes: Uint8Array.of(0xba, 0xff, 0xff, 0xff, 0xff, 0x00) },
    { name: 'array declaring 2^64-1 items', rule: 'length', bytes: Uint8Array.of(0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff) },
    { name: 'byte string declaring 4 GiB', rule: 'length', bytes: Uint8Array.of(0x5a, 0xff, 0xff, 0xff, 0xff, 0x01) },
    { name: 'truncated map', rule: 'truncated', bytes: valid.subarray(0, valid.length - 1) },
    { name: 'truncated head', rule: 'truncated', bytes: Uint8Array.of(0x19, 0x01) },
    { name: 'unsigned integer key', rule: 'key-type', bytes: map([[head(0, 1), head(0, 2)]]) },
    { name: 'byte string key', rule: 'key-type', bytes: map([[bytesItem(Uint8Array.of(1)), head(0, 2)]]) },
    { name: 'array key', rule: 'key-type', bytes: map([[array([]), head(0, 2)]]) },
    { name: '__proto__ key', rule: 'proto-key', bytes: map([[text('__proto__'), map([[text('polluted'), Uint8Array.of(0xf5)]])]]) },
    { name: 'invalid UTF-8 text', rule: 'utf8', bytes: Uint8Array.of(0x62, 0xc0, 0xaf) },
    { name: 'simple value 16', rule: 'simple', bytes: Uint8Array.of(0xf0) },
    { name: 'reserved head', rule: 'reserved', bytes: Uint8Array.of(0x1c) },
    { name: 'trailing bytes', rule: 'trailing', bytes: concatBytes([valid, Uint8Array.of(0x00)]) },
  ];
}
