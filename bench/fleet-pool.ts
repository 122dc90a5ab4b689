/**
 * The main thread's handle on the device workers: builds the worker bundle, starts the threads, and turns the
 * request/reply messages of fleet-protocol.ts into awaitable calls.
 */
import { build } from 'esbuild';
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { DeviceKey, FromWorker, ToWorker, WorkerInit, WorkerSample } from './fleet-protocol.js';

const here = dirname(fileURLToPath(import.meta.url));
// dist/bench.js and bench/fleet.ts both sit one level below the project root.
const root = resolve(here, '..');

/** Bundles bench/fleet-worker.ts to dist/fleet-worker.js (same settings as the bench bundle). */
export async function buildWorkerBundle(): Promise<string> {
  const entry = join(root, 'bench', 'fleet-worker.ts');
  const outfile = join(root, 'dist', 'fleet-worker.js');
  if (!existsSync(entry)) {
    if (existsSync(outfile)) return outfile;
    throw new Error(`fleet bench: neither ${entry} nor ${outfile} exists`);
  }
  await build({ entryPoints: [entry], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'warning' });
  if (!statSync(outfile).isFile()) throw new Error('fleet bench: worker bundle missing');
  return outfile;
}

type Reply<T extends FromWorker['type']> = Extract<FromWorker, { type: T }>;

export class DevicePool {
  private readonly workers: Worker[] = [];
  private readonly waiting = new Map<Worker, Array<(message: FromWorker) => void>>();
  private failure: Error | undefined;

  static async start(script: string, count: number, init: Omit<WorkerInit, 'workerIndex'>): Promise<DevicePool> {
    const pool = new DevicePool();
    const ready = [];
    for (let workerIndex = 0; workerIndex < count; workerIndex++) {
      const worker = new Worker(script, { workerData: { ...init, workerIndex } satisfies WorkerInit });
      pool.workers.push(worker);
      pool.waiting.set(worker, []);
      worker.on('message', (message: FromWorker) => pool.waiting.get(worker)?.shift()?.(message));
      worker.on('error', (error) => (pool.failure ??= error));
      worker.on('exit', (code) => {
        if (code !== 0) pool.failure ??= new Error(`fleet worker ${workerIndex} exited with ${code}`);
        for (const resolve of pool.waiting.get(worker)?.splice(0) ?? []) resolve({ type: 'closed', stopped: 0, timedOut: true });
      });
      ready.push(pool.next(worker));
    }
    await Promise.all(ready);
    return pool;
  }

  get size(): number {
    return this.workers.length;
  }

  /** Adds devices, split evenly across the workers. */
  async grow(total: number): Promise<{ keys: DeviceKey[]; failures: number; firstError: string | undefined }> {
    const share = (index: number) => Math.floor(total / this.size) + (index < total % this.size ? 1 : 0);
    const replies = await Promise.all(this.workers.map((worker, index) => this.ask<'grown'>(worker, { type: 'grow', count: share(index) })));
    return {
      keys: replies.flatMap((reply) => reply.keys),
      failures: replies.reduce((sum, reply) => sum + reply.failures, 0),
      firstError: replies.find((reply) => reply.firstError !== undefined)?.firstError,
    };
  }

  async run(flushEach: boolean): Promise<void> {
    await Promise.all(this.workers.map((worker) => this.ask<'ran'>(worker, { type: 'run', flushEach })));
  }

  async pause(): Promise<WorkerSample[]> {
    return (await Promise.all(this.workers.map((worker) => this.ask<'paused'>(worker, { type: 'pause' })))).map((reply) => reply.sample);
  }

  async sample(detail = false): Promise<WorkerSample[]> {
    return (await Promise.all(this.workers.map((worker) => this.ask<'sample'>(worker, { type: 'sample', detail })))).map((reply) => reply.sample);
  }

  /** Lets each worker stop its devices within the budget, then terminates every thread. */
  async close(budgetMs: number): Promise<{ stopped: number; timedOut: boolean }> {
    const replies = await Promise.all(this.workers.map((worker) => this.ask<'closed'>(worker, { type: 'close', budgetMs }).catch(() => undefined)));
    await Promise.all(this.workers.map((worker) => worker.terminate()));
    return { stopped: replies.reduce((sum, r) => sum + (r?.stopped ?? 0), 0), timedOut: replies.some((r) => r?.timedOut !== false) };
  }

  private ask<T extends FromWorker['type']>(worker: Worker, message: ToWorker): Promise<Reply<T>> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const reply = this.next(worker);
    worker.postMessage(message);
    return reply as Promise<Reply<T>>;
  }

  private next(worker: Worker): Promise<FromWorker> {
    return new Promise((resolve) => this.waiting.get(worker)?.push(resolve));
  }
}

/** Sums the per-worker samples (heap is per isolate, so it adds up too). */
export function totalSample(samples: readonly WorkerSample[]): WorkerSample {
  const sum = (pick: (s: WorkerSample) => number) => samples.reduce((total, s) => total + pick(s), 0);
  const firstWarning = samples.find((s) => s.firstWarning !== undefined)?.firstWarning;
  return {
    devices: sum((s) => s.devices), sent: sum((s) => s.sent), failed: sum((s) => s.failed), checksum: sum((s) => s.checksum),
    lateTicks: sum((s) => s.lateTicks), maxTickLagMs: Math.max(0, ...samples.map((s) => s.maxTickLagMs)), heapUsed: sum((s) => s.heapUsed),
    elu: sum((s) => s.elu) / Math.max(1, samples.length), connected: sum((s) => s.connected), envelopes: sum((s) => s.envelopes),
    inFlight: sum((s) => s.inFlight), gcMs: sum((s) => s.gcMs), warnings: sum((s) => s.warnings), ...(firstWarning !== undefined ? { firstWarning } : {}),
  };
}
