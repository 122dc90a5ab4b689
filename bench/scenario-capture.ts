import { readFile } from 'node:fs/promises';
import type { EnvelopeReading } from '../agent/codec/envelope.js';
import type { CategoryTable } from '../agent/codec/envelope-v2.js';
import { Sealer } from '../agent/telemetry/sealer.js';
import { parseScenario } from '../simulator/scenario/loader.js';
import { runSimulation } from '../simulator/run/index.js';

/** One envelope exactly as a real agent sealed it: its readings (minimised `d` maps included) and its bytes. */
export interface SealedBatch {
  deviceId: string;
  sessionId: Uint8Array;
  ts: number;
  version: 1 | 2;
  categories: CategoryTable | undefined;
  readings: EnvelopeReading[];
  envelope: Uint8Array;
}

/**
 * Runs a real scenario (real agents, broker, collector) and records every envelope the agents sealed, with the
 * readings it carried. `Sealer.sealFitting` (the publisher's only seal call) is wrapped for the run only, so the
 * figures come from what the product sends, not from a synthetic reading.
 */
export async function captureScenario(path: string): Promise<SealedBatch[]> {
  const parsed = parseScenario(await readFile(path, 'utf8'), path);
  if (!parsed.ok) throw new Error(`scenario ${path} does not load: ${parsed.issues.map((i) => i.message).join('; ')}`);
  const batches: SealedBatch[] = [];
  const original = Sealer.prototype.sealFitting;
  Sealer.prototype.sealFitting = function (this: Sealer, stream, readings, ts) {
    const result = original.call(this, stream, readings, ts);
    // The sealer's table is private; the bench reads it to re-seal the same batch as v1 and v2.
    const categories = (this as unknown as { categories?: () => CategoryTable | undefined }).categories?.();
    const taken = readings.slice(0, result.count).map((r) => ({ id: { ...r.id }, category: r.category, at: r.at, expiresAt: r.expiresAt, data: r.data }));
    batches.push({ deviceId: this.deviceId, sessionId: this.sessionId, ts, version: this.version, categories, readings: taken, envelope: result.envelope });
    return result;
  };
  try {
    await runSimulation(parsed.scenario);
  } finally {
    Sealer.prototype.sealFitting = original;
  }
  return batches;
}
