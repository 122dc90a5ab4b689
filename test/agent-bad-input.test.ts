import fc from 'fast-check';
import nacl from 'tweetnacl';
import { beforeAll, describe, expect, it } from 'vitest';
import { memoryLogger, memoryStorage, noEntropyRandom, createVirtualTime, createMemoryBroker } from '../agent/adapters/memory/index.js';
import { createAgent } from '../agent/agent.js';
import type { AgentConfig } from '../agent/config.js';
import { registryFor } from '../agent/policy/devices/index.js';
import type { Transport } from '../agent/ports/index.js';
import { topics } from '../agent/topics.js';
import type { EmbeddedBroker } from '../simulator/broker.js';
import { pairOwner, startDevice, until, useBrokerWorld, type KitAgent, type World } from './helpers/agent-kit.js';

/** Bad input never crashes the agent, is counted, and changes nothing (PREAMBLE hard rule; issues 2, 3, 5). */

const shared = useBrokerWorld();
const cleanups = shared.cleanups;
let broker: EmbeddedBroker;
let world: World;
beforeAll(() => {
  ({ broker, world } = shared.current());
});

async function device(deviceId: string): Promise<KitAgent> {
  return (await startDevice(world, cleanups, deviceId)).kit;
}

async function injector(): Promise<Transport> {
  const transport = world.clientTransport()({ clientId: `inject-${Math.random().toString(36).slice(2, 8)}`, cleanSession: true });
  await transport.connect();
  cleanups.push(() => transport.close());
  return transport;
}

const unchanged = (kit: KitAgent) => {
  const { enforced, paired, mode, security } = kit.agent.status();
  return structuredClone({ enforced, paired, mode, security, owner: kit.agent.status().paired });
};

describe('hostile messages on the owner topics of a running, paired agent', () => {
  it('random garbage, truncated and oversized messages on cmd/req and pair/req: no crash, counted, nothing changes', async () => {
    const kit = await device('bad-th');
    const companion = await pairOwner(world, kit);
    cleanups.push(() => companion.close());
    const valid = (await companion.getState()).version; // a real request works before
    const before = unchanged(kit);
    const auditBefore = kit.agent.audit.entries().length;
    const commands = () => kit.agent.status().commands;
    const start = commands();
    const inject = await injector();
    const id = kit.agent.deviceId;

    const garbage = fc.sample(fc.uint8Array({ minLength: 0, maxLength: 600 }), { numRuns: 40, seed: 7 });
    const oversized = new Uint8Array(9 * 1024).map((_, i) => i & 0xff);
    const messages = [...garbage, oversized, new Uint8Array(300 * 1024)];
    for (const bytes of messages) await inject.publish(topics.commandRequest(id), bytes, { qos: 1 });
    const pairingBefore = commands().pairingDropped;
    expect(() => kit.agent.openPairingWindow()).toThrowError(expect.objectContaining({ code: 'ALREADY_PAIRED' }));
    for (const bytes of [...garbage.slice(0, 10), oversized]) await inject.publish(topics.pairRequest(id), bytes, { qos: 1 });

    // The 300 KiB one is dropped by the MQTT adapter before the agent; everything else reaches the owner channel.
    await until(() => commands().received === start.received + messages.length - 1, 'every command message seen');
    await until(() => commands().pairingDropped >= pairingBefore + 11, 'every pairing message dropped');
    const after = commands();
    expect(after.dropped + after.rejected + after.rateLimited).toBeGreaterThanOrEqual(start.dropped + start.rejected + messages.length - 1);
    expect(after.accepted).toBe(start.accepted);
    expect(unchanged(kit)).toEqual(before);
    expect(kit.agent.audit.entries().length).toBeGreaterThan(auditBefore); // rejections are audited
    expect(kit.agent.status().started).toBe(true);
    // Still serving its owner (after the backoff the junk may have caused for anonymous sources).
    expect((await companion.getState()).version).toBe(valid);
  });
});

describe('hostile pairing requests while the window is open', () => {
  it('junk is dropped and counted; the device stays unpaired and the genuine owner can still pair', async () => {
    const kit = await device('badpair-th');
    kit.agent.openPairingWindow();
    const inject = await injector();
    const junk = fc.sample(fc.uint8Array({ minLength: 0, maxLength: 400 }), { numRuns: 20, seed: 11 });
    for (const bytes of [...junk, new Uint8Array(4096)]) await inject.publish(topics.pairRequest('badpair-th'), bytes, { qos: 1 });
    await until(() => kit.agent.status().commands.pairingDropped === junk.length + 1, 'junk pairing requests dropped');
    expect(kit.agent.status().paired).toBe(false);
    const companion = await pairOwner(world, kit); // opens a fresh window and pairs
    cleanups.push(() => companion.close());
    expect(kit.agent.status().paired).toBe(true);
  });
});

describe('invalid configuration and readings', () => {
  const recipientPublicKey = nacl.box.keyPair().publicKey;
  const base: AgentConfig = { deviceId: 'cfg-th', deviceType: 'thermostat', recipientPublicKey, registry: registryFor('thermostat') };
  const cases: Array<[string, Partial<AgentConfig> | Record<string, unknown>, string]> = [
    ['deviceId', { deviceId: 'not a/topic+level' }, 'config.deviceId'],
    ['deviceType', { deviceType: 'Toaster 2000' }, 'config.deviceType'],
    ['registry (missing, unknown device type)', { deviceType: 'toaster', registry: undefined }, 'config.registry is missing'],
    ['registry (for another device type)', { deviceType: 'toaster' }, "config.registry is for 'thermostat', not config.deviceType 'toaster'"],
    ['recipientPublicKey', { recipientPublicKey: new Uint8Array(31) }, 'config.recipientPublicKey'],
    ['telemetry.maxBatch', { telemetry: { maxBatch: 0 } }, 'config.telemetry.maxBatch'],
    ['telemetry.batchDelayMs', { telemetry: { batchDelayMs: 1.5 } }, 'config.telemetry.batchDelayMs'],
    ['store.durability', { store: { durability: 'never' } }, 'config.store.durability'],
    ['store.maxBytes', { store: { maxBytes: -1 } }, 'config.store.maxBytes'],
    ['sweepIntervalMs', { sweepIntervalMs: Number.NaN }, 'config.sweepIntervalMs'],
    ['pairingWindowMs', { pairingWindowMs: 10 ** 12 }, 'config.pairingWindowMs'],
  ];
  for (const [name, patch, field] of cases) {
    it(`rejects an invalid ${name} with INVALID_CONFIG naming ${field}, writing nothing`, async () => {
      const storage = memoryStorage();
      const time = createVirtualTime(0);
      const ports = { random: { bytes: (n: number) => nacl.randomBytes(n) }, clock: time, scheduler: time, storage, logger: memoryLogger(), transport: createMemoryBroker().transport };
      const error = await createAgent({ ...base, ...patch } as AgentConfig, ports).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringContaining(field) });
      expect(await storage.list('')).toEqual([]);
    });
  }

  it('rejects invalid readings with INVALID_READING naming the field; nothing is stored or queued', async () => {
    const kit = await device('read-th');
    const bad: Array<[string, Record<string, unknown>, string]> = [
      ['smell', { level: 3 }, 'category'],
      ['climate', { temperatureC: 'warm', humidityPct: 40 }, 'temperatureC'],
      ['climate', { temperatureC: 500, humidityPct: 40 }, 'temperatureC'],
      ['climate', { temperatureC: 20, humidityPct: 40, ownerName: 'Alice' }, 'ownerName'],
      ['climate', { temperatureC: 20 }, 'humidityPct'],
      ['hvac', { mode: 'turbo', running: true, setpointC: 20 }, 'mode'],
    ];
    for (const [category, data, field] of bad) {
      const error = await kit.agent.record(category, data).catch((e: unknown) => e);
      expect(error, `${category} ${field}`).toMatchObject({ code: 'INVALID_READING', message: expect.stringContaining(field) });
      expect(String((error as Error).message)).not.toContain('Alice');
    }
    expect(kit.agent.store.stats().records).toBe(0);
    expect(kit.agent.status().store.queued).toBe(0);
    expect(await kit.agent.store.query()).toEqual([]);
    const invalid = Object.values(kit.agent.status().policy.invalid).reduce((a, b) => a + b, 0);
    expect(invalid).toBeGreaterThanOrEqual(bad.length - 1);
    // A good reading still goes through afterwards.
    expect(await kit.agent.record('climate', { temperatureC: 20, humidityPct: 40 })).toEqual({ stored: 1, queued: 1 });
  });

  it('refuses a runtime with no random source: NO_ENTROPY, nothing written, the global PRNG untouched', async () => {
    const storage = memoryStorage();
    const time = createVirtualTime(0);
    const ports = { random: noEntropyRandom(), clock: time, scheduler: time, storage, logger: memoryLogger(), transport: createMemoryBroker().transport };
    await expect(createAgent({ deviceId: 'noent', deviceType: 'thermostat', recipientPublicKey, registry: registryFor('thermostat') }, ports)).rejects.toMatchObject({ code: 'NO_ENTROPY' });
    expect(await storage.list('')).toEqual([]);
    expect(nacl.randomBytes(8)).toHaveLength(8);
  });
});
