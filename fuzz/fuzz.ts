import { setDecodeMeter, type DecodeProbe } from '../agent/codec/cbor-decode.js';
import { TrustError } from '../agent/errors.js';
import { Rng } from './generate.js';
import type { Target } from './targets.js';

/**
 * A small coverage-free fuzzer: structure-aware generation plus mutation of a corpus, reproducible by seed,
 * bounded by iterations and/or time. Invariants per input: nothing but a TrustError escapes, decode work stays
 * within a small multiple of the input length (the structural hang bound), and a refused input leaves the
 * target's state as it was. Wall-clock time per input is reported (and, in long runs, a hang limit), never
 * asserted by the tests.
 */

export interface FuzzOptions {
  seed: number;
  /** Stop after this many inputs... */
  iterations?: number;
  /** ...or after this many milliseconds, whichever comes first. */
  budgetMs?: number;
  /** Extra starting inputs (the corpus files); the target's own seeds are always used. */
  corpus?: readonly Uint8Array[];
  /** Decode work allowed per input byte, summed over every decode the input causes (default: the target's). */
  workPerByte?: number;
  /** Wall-clock limit per input in ms, for long runs only (a machine stall is not a finding in CI). */
  hangMs?: number;
}

export type FailureKind = 'throw' | 'work' | 'state' | 'hang';

export interface Failure {
  kind: FailureKind;
  iteration: number;
  input: Uint8Array;
  detail: string;
}

export interface FuzzReport {
  target: string;
  seed: number;
  iterations: number;
  accepted: number;
  elapsedMs: number;
  maxInputBytes: number;
  maxWorkPerByte: number;
  maxInputMs: number;
  failures: Failure[];
}

/** Feeds one input and checks the invariants; returns the failure, if any, and the measured work. */
async function check(run: Awaited<ReturnType<Target['setUp']>>, input: Uint8Array, workPerByte: number, hangMs: number | undefined):
Promise<{ failure?: Omit<Failure, 'iteration' | 'input'>; accepted: boolean; work: number; ms: number }> {
  const before = run.state();
  const meter: DecodeProbe = { items: 0, bytes: 0 };
  const start = performance.now();
  let accepted = false;
  setDecodeMeter(meter);
  try {
    accepted = await run.run(input);
  } catch (error) {
    if (error instanceof TrustError) return finish(run, before, meter, start, input, false, workPerByte, hangMs);
    return { failure: { kind: 'throw', detail: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }, accepted, work: 0, ms: 0 };
  } finally {
    setDecodeMeter(undefined);
  }
  return finish(run, before, meter, start, input, accepted, workPerByte, hangMs);
}

function finish(run: Awaited<ReturnType<Target['setUp']>>, before: string, meter: DecodeProbe, start: number, input: Uint8Array, accepted: boolean,
  workPerByte: number, hangMs: number | undefined): { failure?: Omit<Failure, 'iteration' | 'input'>; accepted: boolean; work: number; ms: number } {
  const ms = performance.now() - start;
  const work = meter.items + meter.bytes;
  if (work > workPerByte * input.length + 16) return { failure: { kind: 'work', detail: `${work} units of decode work for ${input.length} bytes` }, accepted, work, ms };
  if (!accepted && run.state() !== before) return { failure: { kind: 'state', detail: 'a refused input changed the target state' }, accepted, work, ms };
  if (hangMs !== undefined && ms > hangMs) return { failure: { kind: 'hang', detail: `${ms.toFixed(0)} ms for one input` }, accepted, work, ms };
  return { accepted, work, ms };
}

export async function fuzzTarget(target: Target, options: FuzzOptions): Promise<FuzzReport> {
  const rng = new Rng(options.seed);
  const corpus = [...target.seeds(), ...(options.corpus ?? [])];
  const run = await target.setUp();
  const workPerByte = options.workPerByte ?? target.workPerByte;
  const report: FuzzReport = {
    target: target.name, seed: options.seed, iterations: 0, accepted: 0, elapsedMs: 0, maxInputBytes: 0, maxWorkPerByte: 0, maxInputMs: 0, failures: [],
  };
  const start = performance.now();
  const maxIterations = options.iterations ?? Number.POSITIVE_INFINITY;
  const budgetMs = options.budgetMs ?? Number.POSITIVE_INFINITY;
  while (report.iterations < maxIterations && performance.now() - start < budgetMs) {
    const input = target.generate(rng, corpus);
    const result = await check(run, input, workPerByte, options.hangMs);
    report.iterations++;
    if (result.accepted) report.accepted++;
    report.maxInputBytes = Math.max(report.maxInputBytes, input.length);
    if (input.length > 0) report.maxWorkPerByte = Math.max(report.maxWorkPerByte, result.work / input.length);
    report.maxInputMs = Math.max(report.maxInputMs, result.ms);
    if (result.failure !== undefined) report.failures.push({ ...result.failure, iteration: report.iterations, input });
  }
  report.elapsedMs = performance.now() - start;
  return report;
}

/** Replays saved inputs (regressions) through a fresh target, with the same invariants. */
export async function replay(target: Target, inputs: readonly Uint8Array[], workPerByte = target.workPerByte): Promise<Failure[]> {
  const run = await target.setUp();
  const failures: Failure[] = [];
  for (const [index, input] of inputs.entries()) {
    const result = await check(run, input, workPerByte, undefined);
    if (result.failure !== undefined) failures.push({ ...result.failure, iteration: index, input });
  }
  return failures;
}
