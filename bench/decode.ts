import { decodeCbor, encodeCbor, type DecodeLimits } from '../agent/codec/cbor.js';
import { amplificationShapes, mutate, Rng } from '../fuzz/generate.js';
import { deepArrays, indefiniteArray, indefiniteBytes, map, sharedReferenceDag, signedShell, text, wideMap } from '../fuzz/shapes.js';
import { measure, printLine, type Measurement } from './harness.js';

/**
 * Decode cost per input byte (issue 10 item 2): the worst over a corpus of amplification shapes and adversarial
 * inputs, next to the floor = a plain decode of a valid owner request of the same size, measured in the same run.
 */
const LIMITS: DecodeLimits = { maxBytes: 8 * 1024, maxDepth: 8 }; // the owner channel's request limits

/** A valid set-preferences body of about `size` bytes: the shape the owner channel decodes every day. */
function validRequestOfSize(wanted: number): Uint8Array {
  const size = Math.min(wanted, LIMITS.maxBytes - 64); // a floor that is refused as OVERSIZED would be no floor
  const desired: Record<string, unknown> = {};
  const body = { v: 1, deviceId: 'thermo-1', clientToken: 'a1b2c3d4e5f6', issuedAt: 1_767_225_600_000, expiresAt: 1_767_226_200_000, nonce: new Uint8Array(16), keyId: new Uint8Array(8), kind: 'set-preferences', desired };
  for (let i = 0; encodeCbor(body).length < size - 90; i++) desired[`category-${i}`] = { allowed: i % 2 === 0, retentionDays: i };
  return signedShell(encodeCbor(body));
}

function decodeAll(bytes: Uint8Array): void {
  try {
    const outer = decodeCbor(bytes, LIMITS) as { b?: unknown };
    if (outer.b instanceof Uint8Array) decodeCbor(outer.b, LIMITS);
  } catch {
    // Rejections are part of the cost being measured.
  }
}

/** `accepted`, or the profile rule that refused the outer document or its body. */
function outcome(bytes: Uint8Array): string {
  try {
    const outer = decodeCbor(bytes, LIMITS) as { b?: unknown };
    if (outer.b instanceof Uint8Array) decodeCbor(outer.b, LIMITS);
    return 'accepted';
  } catch (error) {
    return /CBOR \[([a-z-]+)\]/.exec(String((error as Error).message))?.[1] ?? 'refused';
  }
}

function corpus(): Array<{ name: string; bytes: Uint8Array }> {
  return [
    { name: 'shared refs 28/29, 19^6 paths (cmd/req body)', bytes: signedShell(map([[text('kind'), sharedReferenceDag(7, 19)]])) },
    { name: 'shared refs 28/29, top level', bytes: sharedReferenceDag(8, 17) },
    { name: 'deep nesting, 8 KB of 0x81', bytes: deepArrays(8 * 1024 - 2) },
    { name: 'wide map, 1500 distinct keys', bytes: wideMap(1500) },
    { name: 'long indefinite byte string', bytes: indefiniteBytes(4000) },
    { name: 'long indefinite array', bytes: indefiniteArray(8000) },
    { name: 'one 8 KB text string', bytes: encodeCbor('é'.repeat(4000)) },
    { name: '2700 one-byte byte strings in an array', bytes: encodeCbor(Array.from({ length: 2700 }, () => Uint8Array.of(1))) },
  ];
}

/**
 * The slowest few of many mutated valid requests (256 B to 8 KiB), found with a quick pass and then measured
 * properly. Tiny inputs are left to the fixed-cost line: per byte, their cost is the constant of one rejection.
 */
function worstAdversarial(count: number, keep: number): Array<{ name: string; bytes: Uint8Array }> {
  const timed: Array<{ seed: number; bytes: Uint8Array; perByte: number }> = [];
  const donors = amplificationShapes();
  for (let seed = 1; seed <= count; seed++) {
    const rng = new Rng(seed);
    const bytes = mutate(rng, validRequestOfSize(256 + rng.below(7800)), donors);
    if (bytes.length < 256 || bytes.length > LIMITS.maxBytes) continue;
    const start = performance.now();
    for (let i = 0; i < 20; i++) decodeAll(bytes);
    timed.push({ seed, bytes, perByte: (performance.now() - start) / bytes.length });
  }
  timed.sort((a, b) => b.perByte - a.perByte);
  return timed.slice(0, keep).map((t) => ({ name: `mutated request, seed ${t.seed}`, bytes: t.bytes }));
}

export async function runDecodeBench(): Promise<void> {
  const inputs = [...corpus(), ...worstAdversarial(1500, 4)];
  console.log('decode cost per input byte, strict profile, owner-request limits (8 KiB, depth 8): outer document + body');
  console.log(`  ${'input'.padEnd(46)} ${'bytes'.padStart(6)} ${'outcome'.padEnd(11)} ${'ns/byte'.padStart(8)} ${'floor'.padStart(7)} ratio`);
  let worst = { name: '', ratio: 0, perByte: 0 };
  for (const input of inputs) {
    const size = input.bytes.length;
    const valid = validRequestOfSize(size);
    const [floor, subject] = bestOfInterleaved(() => decodeAll(valid), () => decodeAll(input.bytes));
    const perByte = (subject.perOpMicros * 1000) / size;
    const floorPerByte = (floor.perOpMicros * 1000) / valid.length;
    const ratio = perByte / floorPerByte;
    if (ratio > worst.ratio) worst = { name: input.name, ratio, perByte };
    console.log(`  ${input.name.slice(0, 46).padEnd(46)} ${String(size).padStart(6)} ${outcome(input.bytes).padEnd(11)} ${perByte.toFixed(2).padStart(8)} ${floorPerByte.toFixed(2).padStart(7)} ${ratio.toFixed(2)}x`);
  }
  printLine('worst ns per input byte', `${worst.perByte.toFixed(2)} ns (${worst.name})`);
  printLine('worst ratio vs a valid request of the same size', `${worst.ratio.toFixed(2)}x`);
  const minimal = validRequestOfSize(0);
  const [smallest, tiny] = bestOfInterleaved(() => decodeAll(minimal), () => decodeAll(Uint8Array.of(0xd8, 0x1c)));
  printLine('fixed cost of one rejection', `${tiny.perOpMicros.toFixed(2)} µs (a ${minimal.length}-byte valid request: ${smallest.perOpMicros.toFixed(2)} µs)`);
}

/** Floor and subject in turns, best of each: on a shared machine the best run is the least disturbed one. */
function bestOfInterleaved(floorFn: () => void, subjectFn: () => void, rounds = 5): [Measurement, Measurement] {
  let floor: Measurement | undefined;
  let subject: Measurement | undefined;
  for (let i = 0; i < rounds; i++) {
    const f = measure('floor', floorFn, 30);
    const s = measure('subject', subjectFn, 30);
    if (floor === undefined || f.perOpMicros < floor.perOpMicros) floor = f;
    if (subject === undefined || s.perOpMicros < subject.perOpMicros) subject = s;
  }
  return [floor as Measurement, subject as Measurement];
}
