import nacl from 'tweetnacl';
import { createMemoryBroker, createVirtualTime, memoryLogger } from '../agent/adapters/memory/index.js';
import { createAgent, type Agent } from '../agent/agent.js';
import { toHex } from '../agent/crypto/keys.js';
import { DEVICE_TYPES, registryFor } from '../agent/policy/devices/index.js';
import type { Registry } from '../agent/policy/registry-types.js';
import { printLine } from './harness.js';
import { FLASH_PRELUDE, flashStorage, newQuickJSDevice, type Flash } from './quickjs-host.js';

/**
 * Heap of the agent in QuickJS (issue 12 item 2): an empty context, the bundle loaded, the agent started, and the
 * agent booted on a flash holding 10,000 and 100,000 stored records, for each shipped device type. The floor is the
 * empty context of the same run. The records are written by the same agent code on Node (QuickJS would take minutes
 * to seal 100,000 records); the QuickJS agent then boots on that flash, as a device does after a reboot.
 * Targets (docs/benchmarks.md): growth from 10,000 to 100,000 records under 32 KB; agent after start under 150 KB.
 */
const START = Date.UTC(2026, 0, 10);
const STEP_MS = 1000;
const COUNTS = [10_000, 100_000];
const KB = 1024;
/** Room for 100,000 records (the agent's default is 8 MiB, about 70,000 of these readings). */
const STORE = { maxBytes: 32 * 1024 * 1024, maxRecords: 1_000_000 };

export async function runMemoryBench(): Promise<void> {
  const counts = process.env['MEMORY_BENCH_COUNTS']?.split(',').map(Number) ?? COUNTS;
  const types = process.env['MEMORY_BENCH_TYPES']?.split(',') ?? DEVICE_TYPES;
  for (const deviceType of types) {
    const registry = registryFor(deviceType);
    const figures = await measureDevice(deviceType, registry, counts);
    console.log(`${deviceType}`);
    printLine('empty context (floor)', kb(figures.empty));
    printLine('bundles loaded (agent + memory adapters)', `${kb(figures.loaded)}  (+${kb(figures.loaded - figures.empty)})`);
    printLine('agent started, empty flash', `+${kb(figures.started - figures.loaded)} over loaded  (target < 150 KB)`);
    for (const [count, heap] of figures.stored) printLine(`agent booted on ${count.toLocaleString('en')} records`, `+${kb(heap - figures.loaded)} over loaded`);
    const [low, high] = [figures.stored[0], figures.stored[figures.stored.length - 1]];
    if (low !== undefined && high !== undefined && high[0] > low[0]) {
      const growth = high[1] - low[1];
      printLine(`growth ${low[0].toLocaleString('en')} -> ${high[0].toLocaleString('en')} records`, `${kb(growth)}  (target < 32 KB: ${growth < 32 * KB ? 'met' : 'MISSED'})`);
    }
  }
}

interface Figures {
  empty: number;
  loaded: number;
  started: number;
  stored: Array<[number, number]>;
}

async function measureDevice(deviceType: string, registry: Registry, counts: number[]): Promise<Figures> {
  const collector = nacl.box.keyPair();
  const deviceId = `mem-${deviceType}`;
  const boot = { deviceId, deviceType, registry: JSON.stringify(registry), collectorPk: toHex(collector.publicKey) };
  const fresh = await newQuickJSDevice(new Map());
  const empty = fresh.heap();
  fresh.run(`import * as A from 'agent'; import * as M from 'memory'; ${FLASH_PRELUDE} ${setupScript(START, false)}`);
  const loaded = fresh.heap();
  fresh.call('globalThis.__warm = 1;');
  const loadedAgain = fresh.heap();
  fresh.call(startScript(boot));
  const started = fresh.heap() - loadedAgain + loaded;
  fresh.dispose();

  const stored: Array<[number, number]> = [];
  const flash: Flash = new Map();
  let written = 0;
  let now = START;
  for (const count of counts) {
    now = await fill(flash, boot, registry, count - written, now, collector.publicKey);
    written = count;
    const device = await newQuickJSDevice(new Map(flash));
    device.run(`import * as A from 'agent'; import * as M from 'memory'; ${FLASH_PRELUDE} ${setupScript(now, true)}`);
    device.call('globalThis.__warm = 1;');
    const base = device.heap();
    const result = device.call(startScript(boot));
    if (result['records'] !== count) throw new Error(`expected ${count} stored records in QuickJS, found ${String(result['records'])}`);
    stored.push([count, device.heap() - base + loaded]);
    device.dispose();
  }
  return { empty, loaded, started, stored };
}

/** Virtual time and the memory broker, made before the measurement of "loaded" so the agent's figure is its own. */
function setupScript(now: number, offline: boolean): string {
  return `
    globalThis.__time = M.createVirtualTime(${now});
    globalThis.__broker = M.createMemoryBroker();
    ${offline ? 'globalThis.__broker.partition(globalThis.__deviceId = "offline", true);' : ''}
    done({});`;
}

function startScript(boot: { deviceId: string; deviceType: string; registry: string; collectorPk: string }): string {
  return `
      const time = globalThis.__time;
      const broker = globalThis.__broker;
      if (globalThis.__deviceId === 'offline') broker.partition(${JSON.stringify(boot.deviceId)}, true);
      const agent = await A.createAgent(
        { deviceId: ${JSON.stringify(boot.deviceId)}, deviceType: ${JSON.stringify(boot.deviceType)}, registry: JSON.parse(${JSON.stringify(boot.registry)}),
          recipientPublicKey: A.fromHex(${JSON.stringify(boot.collectorPk)}), store: ${JSON.stringify(STORE)} },
        { random, clock: time, scheduler: time, storage: flash, transport: broker.transport, logger: quietLogger });
      await agent.start().catch((e) => { if (e.code !== 'TRANSPORT') throw e; });
      globalThis.__agent = agent;
      return { records: agent.status().store.records };`;
}

/** Records `count` readings on Node into `flash`, every category of the device fully on, offline (all queued). */
async function fill(flash: Flash, boot: { deviceId: string; deviceType: string }, registry: Registry, count: number, from: number, collectorPk: Uint8Array): Promise<number> {
  const time = createVirtualTime(from);
  const broker = createMemoryBroker();
  broker.partition(boot.deviceId, true);
  const agent: Agent = await createAgent(
    { deviceId: boot.deviceId, deviceType: boot.deviceType, registry, recipientPublicKey: collectorPk, store: STORE },
    { random: { bytes: (n) => nacl.randomBytes(n) }, clock: time, scheduler: time, storage: flashStorage(flash), transport: broker.transport, logger: memoryLogger() },
  );
  await agent.start().catch((e: unknown) => {
    if ((e as { code?: string }).code !== 'TRANSPORT') throw e;
  });
  const categories = registry.categories;
  await agent.rights.applyPatch({ categories: Object.fromEntries(categories.map((c) => [c.name, { setting: c.settings[c.settings.length - 1], retentionMs: c.retentionMaxMs }])) });
  await agent.rights.reviewManifest();
  // Every category at its registry's longest retention, so nothing expires while the flash fills (28 h at 1 reading/s).
  const target = agent.status().store.records + count;
  for (let i = 0; agent.status().store.records < target; i++) {
    const category = categories[i % categories.length];
    if (category === undefined) break;
    await agent.record(category.name, sample(category.fields, i));
    await time.advance(STEP_MS);
    if (i > count * 4) throw new Error(`${boot.deviceType}: readings are not being stored`);
  }
  await agent.stop();
  return time.now();
}

function sample(fields: Registry['categories'][number]['fields'], i: number): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(fields)) {
    if (field.type === 'number') {
      const min = field.min ?? 0;
      const max = field.max ?? min + 100;
      data[name] = Math.round((min + ((i * 7) % 97) / 97 * (max - min)) * 10) / 10;
    } else if (field.type === 'boolean') data[name] = i % 2 === 0;
    else if (field.type === 'enum') data[name] = field.values[i % field.values.length];
    else data[name] = `s${i % 1000}`.slice(0, field.maxLength);
  }
  return data;
}

function kb(bytes: number): string {
  return `${(bytes / KB).toFixed(1)} KB`;
}
