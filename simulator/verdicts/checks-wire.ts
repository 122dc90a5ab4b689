import { decodeCbor } from '../../agent/codec/cbor.js';
import type { WireMessage, Verdict } from './evidence.js';
import { Tally, type CheckContext } from './context.js';

/**
 * Field names of the readings. Long ones are searched in every byte of a telemetry payload (a random match of 6+
 * bytes is practically impossible); short ones ('bpm', 'lat') only where a decoded structure could hold them,
 * because three bytes occur by chance in ciphertext.
 */
const LONG_MARKERS = ['temperatureC', 'humidityPct', 'setpointC', 'userName', 'userId', 'trackId', 'roomName', 'deviceName', 'occupied', 'calories'];
const SHORT_MARKERS = ['bpm', 'lat', 'lon', 'stage', 'steps', 'percent', 'room', 'state', 'kind', 'open', 'action', 'method', 'setting'];
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
export function envelopeProblem(payload: Uint8Array): string | undefined {
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
      if (strings.some((s) => SHORT_MARKERS.includes(s) || LONG_MARKERS.includes(s))) return 'ciphertext field holds readable CBOR readings';
    }
  }
  for (const marker of LONG_MARKERS) if (contains(payload, encoder.encode(marker))) return `plaintext field name "${marker}" in payload`;
  return undefined;
}

/** V4: the raw subscriber saw only valid envelopes on telemetry topics, and no personal value on any topic. */
export function checkWire(ctx: CheckContext): Verdict {
  const t = new Tally();
  const secrets = [...ctx.household.flatMap((m) => [m.name, m.id])].filter((s) => s.length >= 5).map((s) => ({ s, bytes: encoder.encode(s) }));
  let telemetry = 0;
  for (const msg of ctx.evidence.wire) {
    t.checked++;
    const shown = (why: string): void => t.violation(describe(msg), why);
    const leaked = secrets.find((x) => contains(msg.payload, x.bytes));
    if (leaked) shown('personal value in plaintext on the wire');
    if (!TELEMETRY.test(msg.topic)) continue;
    telemetry++;
    const problem = envelopeProblem(msg.payload);
    if (problem) shown(problem);
  }
  t.details.telemetryMessages = telemetry;
  return t.verdict('wire-encrypted', 'Nothing but sealed envelopes on the wire', 'wire messages',
    t.checked > 0 && telemetry === 0 ? 'no telemetry message seen by the raw subscriber: encryption not demonstrated' : undefined);
}

function describe(msg: WireMessage): Record<string, unknown> {
  const head = Array.from(msg.payload.subarray(0, 24), (b) => b.toString(16).padStart(2, '0')).join('');
  return { topic: msg.topic, at: msg.at, bytes: msg.payload.length, head };
}
