import nacl from 'tweetnacl';
import { encodeCbor } from '../agent/codec/cbor.js';
import { encodeCompact } from '../agent/codec/cbor-compact.js';
import { generateIdentity } from '../agent/crypto/keys.js';
import { Sealer } from '../agent/telemetry/sealer.js';
import { printLine } from './harness.js';
import { captureScenario, type SealedBatch } from './scenario-capture.js';

/** `ENVELOPE_SCENARIO=path npm run bench -- envelope-bytes` measures another scenario; the targets are for the default. */
const SCENARIO = process.env['ENVELOPE_SCENARIO'] ?? 'simulator/scenarios/default.json';
const TARGETS = { fixed: 48, perReading: 8, ratio: 1.6 };

interface Fit {
  fixed: number;
  perReading: number;
}

/**
 * Wire bytes of the real default scenario (issue 15): every envelope the agents sealed, re-sealed as v1 and as v2
 * from the same readings, against the floor = the CBOR (cbor-x, as the agent encodes data) of the minimised `d`
 * maps. Overhead = envelope bytes - floor; fixed and per-reading overhead come from a least-squares fit of
 * overhead against the number of readings over all envelopes.
 */
export async function runEnvelopeBytesBench(): Promise<void> {
  const started = performance.now();
  const batches = await captureScenario(SCENARIO);
  const readings = batches.reduce((sum, b) => sum + b.readings.length, 0);
  printLine(`${SCENARIO}, captured`, `${batches.length} envelopes, ${readings} readings (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  const floors = batches.map((b) => b.readings.reduce((sum, r) => sum + encodeCbor(r.data).length, 0));
  const floor = floors.reduce((a, b) => a + b, 0);
  printLine('floor: CBOR of the minimised d maps', `${floor} B (${(floor / readings).toFixed(1)} B per reading)`);
  // v2 writes d itself (shortest heads, shortest exact floats): part of its per-reading figure is this saving.
  const compact = batches.reduce((sum, b) => sum + b.readings.reduce((s, r) => s + encodeCompact(r.data).length, 0), 0);
  printLine('the same d maps as v2 encodes them', `${compact} B (${((floor - compact) / readings).toFixed(1)} B per reading below the floor)`);
  const sizes = { v1: reseal(batches, 1), v2: reseal(batches, 2) };
  const onWire = batches.reduce((sum, b) => sum + b.envelope.length, 0);
  printLine('as sent by the agents', `${onWire} B (v${batches[0]?.version ?? '?'}; the v2 re-seal below must match)`);
  for (const [name, bytes] of Object.entries(sizes)) {
    const total = bytes.reduce((a, b) => a + b, 0);
    const fit = fitOverhead(batches, bytes, floors);
    const single = batches.flatMap((b, i) => (b.readings.length === 1 ? [(bytes[i] as number) / (floors[i] as number)] : []));
    console.log(`-- ${name}`);
    printLine('  envelope bytes, whole scenario', `${total} B = ${(total / floor).toFixed(2)}x the floor${target(total / floor, TARGETS.ratio, 'x')}`);
    printLine('  fixed overhead per envelope', `${fit.fixed.toFixed(1)} B${target(fit.fixed, TARGETS.fixed, ' B')}`);
    printLine('  overhead per reading in a batch', `${fit.perReading.toFixed(1)} B${target(fit.perReading, TARGETS.perReading, ' B')}`);
    printLine('  single-reading envelopes', `${single.length}, median ${median(single).toFixed(2)}x their floor`);
    printLine('  largest envelope', `${Math.max(...bytes)} B`);
  }
}

/** The same batches sealed again, by a sealer of each version with the agents' category tables. */
function reseal(batches: readonly SealedBatch[], version: 1 | 2): number[] {
  const recipient = nacl.box.keyPair().publicKey;
  const sealers = new Map<string, Sealer>();
  return batches.map((b) => {
    const key = `${b.deviceId}/${Buffer.from(b.sessionId).toString('hex')}`;
    let sealer = sealers.get(key);
    if (sealer === undefined) {
      const categories = b.categories;
      sealer = new Sealer({ identity: generateIdentity(), deviceId: b.deviceId, recipientPublicKey: recipient, sessionId: b.sessionId, version, categories: () => categories });
      sealers.set(key, sealer);
    }
    return sealer.seal('telemetry', b.readings, b.ts).length;
  });
}

function fitOverhead(batches: readonly SealedBatch[], bytes: readonly number[], floors: readonly number[]): Fit {
  const xs = batches.map((b) => b.readings.length);
  const ys = bytes.map((size, i) => size - (floors[i] as number));
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += ((xs[i] as number) - mx) * ((ys[i] as number) - my);
    sxx += ((xs[i] as number) - mx) ** 2;
  }
  const perReading = sxx === 0 ? 0 : sxy / sxx;
  return { fixed: my - perReading * mx, perReading };
}

function target(value: number, limit: number, unit: string): string {
  return `  (target <= ${limit}${unit}: ${value <= limit ? 'met' : `MISSED by ${(value - limit).toFixed(unit === 'x' ? 2 : 1)}${unit}`})`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? 0 : (sorted[Math.floor(sorted.length / 2)] as number);
}
