import { decodeCbor } from '../../agent/codec/cbor.js';
import { DEVICE_TYPES } from '../../agent/policy/devices/index.js';
import type { Registry } from '../../agent/policy/registry-types.js';
import { registryOf } from './data-model.js';
import type { WireMessage, Verdict } from './evidence.js';
import { Tally, type CheckContext } from './context.js';

/**
 * Field names of the readings, from the registries (reading fields and aggregate outputs). Long ones (6+ characters)
 * are searched in every byte of a telemetry payload (a random match of 6+ bytes is practically impossible); short ones
 * ('bpm', 'lat') only where a decoded structure could hold them, because three bytes occur by chance in ciphertext.
 */
export interface Markers {
  long: string[];
  short: Set<string>;
}

export function markersOf(registries: Iterable<Registry>): Markers {
  const names = new Set<string>();
  for (const registry of registries) {
    for (const c of registry.categories) {
      for (const field of Object.keys(c.fields)) names.add(field);
      for (const level of c.minimise) for (const output of Object.keys(level.aggregate?.outputs ?? {})) names.add(output);
    }
  }
  const sorted = [...names].sort();
  return { long: sorted.filter((n) => n.length >= 6), short: new Set(sorted.filter((n) => n.length < 6)) };
}

const SHIPPED_MARKERS = markersOf(DEVICE_TYPES.map((type) => registryOf({ type })));
const NONCE_BYTES = 24;
const BOX_OVERHEAD = 16;
const TELEMETRY = /^ta\/v1\/[A-Za-z0-9_-]{1,64}\/telemetry$/;

const encoder = new TextEncoder();

/** Native search (the checker runs in Node only; it scans every byte of every message). */
function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).indexOf(needle) >= 0;
}

/** Strings anywhere in a decoded structure (keys and values). */
function stringsIn(value: unknown, out: string[], depth = 0): void {
  if (depth > 8 || value === null || typeof value !== 'object') {
    if (typeof value === 'string') out.push(value);
    return;
  }
  if (value instanceof Uint8Array) return;
  for (const [k, v] of Object.entries(value)) {
    out.push(k);
    stringsIn(v, out, depth + 1);
  }
}

function tryDecode(bytes: Uint8Array): unknown {
  try {
    return decodeCbor(bytes, { maxBytes: 1 << 20, maxDepth: 16 });
  } catch {
    return undefined;
  }
}

/**
 * Why a telemetry payload is not an opaque envelope, or undefined when it is one. Both versions: v1 is a map
 * with a 24-byte nonce; v2 is an array [2, alg, sid, seq, ct] whose nonce is derived, so none travels.
 */
export function envelopeProblem(payload: Uint8Array, markers: Markers = SHIPPED_MARKERS): string | undefined {
  const outer = tryDecode(payload);
  if (outer === undefined || outer === null || typeof outer !== 'object' || outer instanceof Uint8Array) {
    return 'payload is not a CBOR map or array';
  }
  const values = Object.values(outer);
  if (!values.every((v) => typeof v === 'number' || v instanceof Uint8Array)) return 'envelope carries values other than integers and bytes';
  const binaries = values.filter((v): v is Uint8Array => v instanceof Uint8Array);
  if (Array.isArray(outer)) {
    if (outer[0] !== 2 || outer.length !== 5) return 'array envelope is not v2 ([2, alg, sid, seq, ct])';
  } else if (!binaries.some((b) => b.length === NONCE_BYTES)) return 'envelope has no 24-byte nonce';
  const sealed = binaries.filter((b) => b.length > BOX_OVERHEAD);
  if (sealed.length === 0) return 'envelope has no ciphertext';
  for (const b of sealed) {
    // Readable readings would start with a CBOR array or map head (0x80-0xbf); skip the costly decode otherwise.
    const head = b[0] ?? 0;
    if (head < 0x80 || head > 0xbf) continue;
    const inner = tryDecode(b);
    if (inner !== undefined && typeof inner === 'object' && inner !== null) {
      const strings: string[] = [];
      stringsIn(inner, strings);
      if (strings.some((s) => markers.short.has(s) || markers.long.includes(s))) return 'ciphertext field holds readable CBOR readings';
    }
  }
  for (const marker of markers.long) if (contains(payload, encoder.encode(marker))) return `plaintext field name "${marker}" in payload`;
  return undefined;
}

/** V4: the raw subscriber saw only valid envelopes on telemetry topics, and no personal value on any topic. */
export function checkWire(ctx: CheckContext): Verdict {
  const t = new Tally();
  const secrets = personalValues(ctx).map((s) => ({ s, bytes: encoder.encode(s) }));
  const markers = markersOf(new Set([...ctx.devices.values()].map((d) => registryOf(d))));
  let telemetry = 0;
  for (const msg of ctx.evidence.wire) {
    t.checked++;
    const shown = (why: string): void => t.violation(describe(msg), why);
    const leaked = secrets.find((x) => contains(msg.payload, x.bytes));
    if (leaked) shown('personal value in plaintext on the wire');
    if (!TELEMETRY.test(msg.topic)) continue;
    telemetry++;
    const problem = envelopeProblem(msg.payload, markers);
    if (problem) shown(problem);
  }
  t.details.telemetryMessages = telemetry;
  return t.verdict('wire-encrypted', 'Nothing but sealed envelopes on the wire', 'wire messages',
    t.checked > 0 && telemetry === 0 ? 'no telemetry message seen by the raw subscriber: encryption not demonstrated' : undefined);
}

/**
 * Values that must never be readable on any topic: the household's names and ids, and the string values a trace
 * recorded in a free-text field of a category its registry marks as personal (any sensitivity but 'technical'). Five characters at least,
 * so that a chance match in ciphertext is out of the question.
 */
function personalValues(ctx: CheckContext): string[] {
  const values = new Set(ctx.household.flatMap((m) => [m.name, m.id]));
  for (const device of ctx.devices.values()) {
    if (device.trace === undefined) continue;
    const personal = registryOf(device).categories.filter((c) => c.sensitivity.some((s) => s !== 'technical'));
    // Free-text fields only: enum values are published in the device's manifest, so they may appear in plaintext.
    const freeText = new Set(personal.flatMap((c) => Object.entries(c.fields).filter(([, f]) => f.type === 'string').map(([name]) => `${c.name}.${name}`)));
    for (const r of device.trace) {
      for (const [field, value] of Object.entries(r.data)) if (typeof value === 'string' && freeText.has(`${r.category}.${field}`)) values.add(value);
    }
  }
  return [...values].filter((s) => s.length >= 5).sort();
}

function describe(msg: WireMessage): Record<string, unknown> {
  const head = Array.from(msg.payload.subarray(0, 24), (b) => b.toString(16).padStart(2, '0')).join('');
  return { topic: msg.topic, at: msg.at, bytes: msg.payload.length, head };
}
