import { execFileSync } from 'node:child_process';
import { PerformanceObserver } from 'node:perf_hooks';
import nacl from 'tweetnacl';
import { createAgent } from '../agent/agent.js';
import { createMemoryBroker, createVirtualTime, memoryLogger, memoryStorage } from '../agent/adapters/memory/index.js';
import { nodeRandom } from '../agent/adapters/node/random.js';
import { encodeCbor } from '../agent/codec/cbor.js';
import { generateIdentity } from '../agent/crypto/keys.js';
import { createPolicyEngine, registryFor } from '../agent/policy/index.js';
import { createStore } from '../agent/store/store.js';
import { newSessionId, Sealer } from '../agent/telemetry/sealer.js';
import { printLine } from './harness.js';

const READING = { temperatureC: 21.37, humidityPct: 44 };
const N = 4_000;
const BATCH = 32;
const CHILD = 'TA_ALLOC_CHILD';

/**
 * Garbage per reading on the hot path (issue 12 item 5): bytes allocated on the JS heap per reading by the gate,
 * the store's append (memory storage, so file-system buffers are not counted), the sealer and the whole
 * `agent.record` + publish, against a floor: CBOR-encoding the reading, sealing it at rest (secretbox) and for the
 * wire (box.after). Measured in a child `node --expose-gc --max-semi-space-size=256`: gc(), then N readings with no
 * collection in between (checked with a GC observer), so heap growth is what was allocated.
 */
export async function runAllocBench(): Promise<void> {
  if (process.env[CHILD] === '1') return measureInChild();
  const out = execFileSync(process.execPath, ['--expose-gc', '--max-semi-space-size=256', process.argv[1] ?? 'dist/bench.js', 'alloc'], {
    env: { ...process.env, [CHILD]: '1' }, encoding: 'utf8',
  });
  const results = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as Record<string, { bytes: number; gcs: number }>;
  const floor = results['floor']?.bytes ?? Number.NaN;
  console.log(`Allocated bytes per reading (thermostat climate, ${N} readings, no GC during each window)`);
  for (const [name, r] of Object.entries(results)) {
    printLine(name, `${r.bytes.toFixed(0)} B  = ${(r.bytes / floor).toFixed(1)}x the floor${r.gcs > 0 ? `  (${r.gcs} GCs in the window: figure too low)` : ''}`);
  }
}

async function allocated(run: () => Promise<void> | void): Promise<{ bytes: number; gcs: number }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  await run(); // warm up: JIT, caches, first epoch key and part
  gc();
  gc();
  let gcs = 0;
  const observer = new PerformanceObserver((list) => { gcs += list.getEntries().length; });
  observer.observe({ entryTypes: ['gc'] });
  const before = used();
  await run();
  const after = used();
  await new Promise((resolve) => setImmediate(resolve)); // deliver GC entries
  observer.disconnect();
  return { bytes: (after - before) / N, gcs };
}

async function measureInChild(): Promise<void> {
  const random = nodeRandom();
  const key = nacl.randomBytes(32);
  const shared = nacl.box.before(nacl.box.keyPair().publicKey, nacl.box.keyPair().secretKey);
  const results: Record<string, { bytes: number; gcs: number }> = {};
  results['floor'] = await allocated(() => {
    for (let i = 0; i < N; i++) {
      const body = encodeCbor({ c: 'climate', t: i, d: READING });
      nacl.secretbox(body, random.bytes(24), key);
      nacl.box.after(body, random.bytes(24), shared);
    }
  });

  let time = createVirtualTime(Date.UTC(2026, 0, 1));
  const policy = await createPolicyEngine({ registry: registryFor('thermostat'), storage: memoryStorage(), clock: time, logger: memoryLogger() });
  await policy.markManifestReviewed();
  let at = time.now();
  results['gate (policy.collect)'] = await allocated(() => {
    for (let i = 0; i < N; i++) policy.collect('climate', READING, (at += 1000));
  });

  const outputs = policy.collect('climate', READING, (at += 1000));
  const store = await createStore({ storage: memoryStorage(), clock: time, logger: memoryLogger(), masterKey: key, sessionId: 'ab', limits: { maxRecords: 10 * N } });
  results['store append (memory storage)'] = await allocated(async () => {
    for (let i = 0; i < N; i++) await store.append(outputs);
  });

  const sealer = new Sealer({ identity: generateIdentity(), deviceId: 'alloc-1', recipientPublicKey: nacl.box.keyPair().publicKey, sessionId: newSessionId() });
  const readings = Array.from({ length: BATCH }, (_, i) => ({ ...outputs[0]!, id: { session: 'a1a2a3a4a5a6a7a8', seq: i } }));
  results[`seal (envelopes of ${BATCH})`] = await allocated(() => {
    for (let i = 0; i < N / BATCH; i++) sealer.seal('telemetry', readings, at);
  });

  time = createVirtualTime(Date.UTC(2026, 0, 1));
  const agent = await createAgent(
    { deviceId: 'alloc-1', deviceType: 'thermostat', registry: registryFor('thermostat'), recipientPublicKey: nacl.box.keyPair().publicKey, telemetry: { maxBatch: BATCH } },
    { random, clock: time, scheduler: time, storage: memoryStorage(), transport: createMemoryBroker().transport, logger: memoryLogger() },
  );
  await agent.start();
  await agent.rights.applyPatch({ manifestReviewed: true });
  at = time.now();
  results[`agent.record + flush (batches of ${BATCH})`] = await allocated(async () => {
    for (let i = 0; i < N; i += BATCH) {
      for (let j = 0; j < BATCH; j++) await agent.record('climate', READING, (at += 1000));
      await agent.flush();
    }
  });
  await agent.stop();
  console.log(JSON.stringify(results));
}

/** JS heap plus ArrayBuffer backing stores (typed-array bytes live outside the V8 heap). */
function used(): number {
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}
