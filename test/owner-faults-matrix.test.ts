import { describe, expect, it } from 'vitest';
import type { Agent } from '../agent/agent.js';
import type { DeviceType } from '../agent/config.js';
import { registryFor, type Registry } from '../agent/policy/index.js';
import { makeAgent, memoryWorld, startCollector, until, type CollectorHarness, type World } from './helpers/agent-kit.js';
import { faultyStorage, type FaultKind, type FaultyStorage } from './helpers/fault-storage.js';

/**
 * Issue 10 item 3: every storage write of every owner request kind fails in turn (EIO, torn write, power cut and
 * reboot on the same storage). After the owner's retry and the link's return, what the collector received (real
 * crypto), what the store holds and the preferences in force must equal a run without the fault: never a reading the
 * final choice forbids, the request's full effect, nothing lost that the owner did not ask to erase.
 */

interface Kind {
  name: string;
  deviceType: DeviceType;
  /** Before the request: preferences and readings queued while the link is down. */
  setup(agent: Agent): Promise<void>;
  request(agent: Agent): Promise<unknown>;
  /** Trail entry types the request must leave. */
  audits: string[];
  /** The registry the firmware boots with after a power cut (a runtime update is the firmware's to keep). */
  rebootRegistry?: () => unknown;
}

const comfortOn = (agent: Agent) => agent.rights.applyPatch({ categories: { comfort: { setting: 'full' } }, manifestReviewed: true });

async function thermostatReadings(agent: Agent): Promise<void> {
  await comfortOn(agent);
  for (const setting of ['home', 'away', 'sleep']) await agent.record('comfort', { setting });
  await agent.record('climate', { temperatureC: 21, humidityPct: 40 });
  await agent.record('hvac', { mode: 'heat', running: true, setpointC: 21 });
}

function widenedRegistry(): unknown {
  const shipped = registryFor('thermostat');
  return {
    ...shipped, version: shipped.version + 1,
    categories: shipped.categories.map((c) => (c.name === 'comfort' ? { ...c, recipients: [...c.recipients, 'analytics'] } : c)),
  };
}

const KINDS: Kind[] = [
  { name: 'withdrawal', deviceType: 'thermostat', setup: thermostatReadings, audits: ['consent.change', 'purge'],
    request: (a) => a.rights.applyPatch({ categories: { comfort: { setting: 'off' } } }) },
  { name: 'local-only', deviceType: 'thermostat', setup: thermostatReadings, audits: ['consent.change', 'purge'],
    request: (a) => a.rights.applyPatch({ categories: { comfort: { setting: 'local' } } }) },
  { name: 'shorter retention', deviceType: 'thermostat', setup: thermostatReadings, audits: ['consent.change', 'purge'],
    request: (a) => a.rights.applyPatch({ categories: { comfort: { retentionMs: 60_000 } } }) },
  { name: 'reset', deviceType: 'thermostat', setup: thermostatReadings, audits: ['consent.change', 'purge'],
    request: (a) => a.rights.reset() },
  { name: 'review manifest (widening)', deviceType: 'thermostat', audits: ['consent.change'],
    setup: async (a) => {
      await a.rights.applyPatch({ categories: { comfort: { setting: 'full' } } });
      await a.record('climate', { temperatureC: 19, humidityPct: 45 });
    },
    request: (a) => a.rights.reviewManifest() },
  { name: 'accept terms', deviceType: 'thermostat', audits: ['consent.change'], rebootRegistry: widenedRegistry,
    setup: async (a) => {
      await thermostatReadings(a);
      await a.rights.updateRegistry(widenedRegistry());
    },
    request: (a) => a.rights.acceptTerms(['comfort']) },
  { name: 'registry update (narrowing)', deviceType: 'thermostat', audits: ['policy.update', 'purge'],
    setup: thermostatReadings,
    request: (a) => {
      const shipped = registryFor('thermostat');
      return a.rights.updateRegistry({ ...shipped, version: shipped.version + 1, categories: shipped.categories.filter((c) => c.name !== 'comfort') });
    } },
  { name: 'erase all', deviceType: 'thermostat', setup: thermostatReadings, audits: ['consent.change', 'purge', 'receipt'],
    request: (a) => a.rights.eraseAll() },
  { name: 'erase category', deviceType: 'thermostat', setup: thermostatReadings, audits: ['purge', 'receipt'],
    request: (a) => a.rights.eraseCategory('comfort') },
  { name: 'export', deviceType: 'thermostat', setup: thermostatReadings, audits: ['receipt'],
    request: (a) => a.rights.exportData(new Uint8Array(32).fill(7)) },
  // Not journaled (docs/storage.md, Limits): it erases first, and its retry runs it again from the start.
  { name: 'transfer', deviceType: 'thermostat', setup: thermostatReadings, audits: ['purge', 'receipt', 'ownership.transfer'],
    request: (a) => a.rights.transferOwnership() },
  { name: 'erase user', deviceType: 'smart-lock', audits: ['purge', 'receipt'],
    setup: async (a) => {
      await a.rights.applyPatch({ manifestReviewed: true, categories: { access: { setting: 'full' } } });
      for (const [userId, userName] of [['u-alice', 'Alice'], ['u-bob', 'Bob'], ['u-alice', 'Alice']] as const) {
        await a.record('access', { action: 'unlock', method: 'keypad', userId, userName });
      }
    },
    request: (a) => a.rights.eraseUser('u-alice') },
];

interface Outcome {
  /** What the collector received, as sorted JSON lines (category + data). */
  received: string[];
  /** What the store holds, per category. */
  stored: Record<string, number>;
  settings: string;
  audits: string[];
}

interface Run {
  world: World;
  col: CollectorHarness;
  faults: FaultyStorage;
  agent: Agent;
}

async function boot(kind: Kind, deviceId: string): Promise<Run> {
  const world = memoryWorld();
  const col = await startCollector(world);
  const faults = faultyStorage();
  const kit = await makeAgent(world, { deviceId, deviceType: kind.deviceType, recipientPublicKey: col.publicKey, storage: faults.storage });
  col.collector.addDevice(deviceId, kit.agent.publicKeys.box);
  return { world, col, faults, agent: kit.agent };
}

/** Request with write `n` failing as `fault` (n = 0: no fault); a power cut reboots a new agent on the same storage. */
async function runWith(kind: Kind, n: number, fault: FaultKind): Promise<{ outcome: Outcome; writes: number; fired: boolean }> {
  const deviceId = `m-${Math.random().toString(36).slice(2, 8)}`;
  const run = await boot(kind, deviceId);
  await kind.setup(run.agent);
  const auditsBefore = run.agent.audit.entries().length;
  if (n > 0) run.faults.arm(n, fault);
  else run.faults.arm(Number.MAX_SAFE_INTEGER, 'eio');
  const first = await kind.request(run.agent).then(() => undefined, (error: unknown) => error);
  const writes = run.faults.writes;
  const fired = run.faults.fired;
  run.faults.disarm();
  if (first !== undefined) expect((first as { code?: unknown }).code, `${kind.name}: a failed request names its reason`).toMatch(/^[A-Z_]+$/);
  let agent = run.agent;
  let trailFrom = auditsBefore;
  if (fired && fault === 'crash') {
    const kit = await makeAgent(run.world, {
      deviceId, deviceType: kind.deviceType, recipientPublicKey: run.col.publicKey, storage: run.faults.reboot(),
      ...(kind.rebootRegistry === undefined ? {} : { config: { registry: kind.rebootRegistry() as Registry } }),
    });
    agent = kit.agent;
    trailFrom = 0;
  }
  if (first !== undefined || fault === 'crash') await kind.request(agent); // the owner's retry
  await agent.start();
  await agent.flush();
  await run.world.time?.advance(5_000);
  await until(() => agent.status().store.queued === 0, 'the queue drained');
  const received = run.col.readings.filter((r) => r.deviceId === deviceId)
    .map((r) => JSON.stringify([r.reading.category, r.reading.data])).sort();
  const stored: Record<string, number> = {};
  for (const fact of agent.store.census()) stored[fact.category] = (stored[fact.category] ?? 0) + 1;
  const settings = JSON.stringify(Object.entries(agent.status().enforced.categories).map(([name, c]) => [name, c.setting, c.pendingConsent]));
  const audits = [...new Set(agent.audit.entries().slice(trailFrom).map((e) => e.type))];
  await agent.stop();
  return { outcome: { received, stored, settings, audits }, writes, fired };
}

describe('every write of every owner request fails in turn', () => {
  for (const kind of KINDS) {
    it(`${kind.name}: EIO, torn write and power cut at each write point end as a clean run does`, async () => {
      const clean = await runWith(kind, 0, 'eio');
      expect(clean.writes, 'the request writes something').toBeGreaterThan(0);
      for (const audit of kind.audits) expect(clean.outcome.audits).toContain(audit);
      for (const fault of ['eio', 'torn', 'crash'] as const) {
        for (let n = 1; n <= clean.writes; n++) {
          const faulted = await runWith(kind, n, fault);
          expect(faulted.fired, `${fault} at write ${n} fired`).toBe(true);
          const label = `${kind.name}: ${fault} at write ${n} of ${clean.writes}`;
          expect(faulted.outcome.received, `${label}: what the collector received`).toEqual(clean.outcome.received);
          expect(faulted.outcome.stored, `${label}: what the store holds`).toEqual(clean.outcome.stored);
          expect(faulted.outcome.settings, `${label}: preferences in force`).toEqual(clean.outcome.settings);
          if (fault !== 'crash') for (const audit of kind.audits) expect(faulted.outcome.audits, label).toContain(audit);
        }
      }
    }, 180_000);
  }
});
