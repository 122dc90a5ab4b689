import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { nodeFileStorage } from '../agent/adapters/node/index.js';
import type { NodeMqttTransport } from '../agent/adapters/node/index.js';
import type { Transport, TransportFactory, TransportOptions } from '../agent/ports/index.js';
import { TrustError } from '../agent/errors.js';
import { topics } from '../agent/topics.js';
import { utf8Decode } from '../agent/codec/utf8.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../simulator/broker.js';
import { describeMosquitto, startMosquitto, type MosquittoBroker } from './helpers/mosquitto.js';
import {
  brokerWorld, closeStorage, pairOwner, makeAgent, removeTempDirs, startCollector, tempDir, until, type CollectorHarness, type KitAgent, type World,
} from './helpers/agent-kit.js';

/** Foundation, end to end with the real agent (issue 2 item 9): keys, TLS brokers, plaintext refusal, will, store-and-forward. */

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});
afterAll(() => removeTempDirs());

async function setup(world: World, deviceId: string, extra: Partial<Parameters<typeof makeAgent>[1]> = {}): Promise<{ kit: KitAgent; col: CollectorHarness }> {
  const col = await startCollector(world);
  const kit = await makeAgent(world, { deviceId, recipientPublicKey: col.publicKey, ...extra });
  col.collector.addDevice(deviceId, kit.agent.publicKeys.box);
  cleanups.push(() => closeStorage(kit.storage), () => col.close(), () => kit.agent.stop());
  return { kit, col };
}

async function sendAndCheck(world: World, deviceId: string): Promise<void> {
  const { kit, col } = await setup(world, deviceId);
  await kit.agent.start();
  for (let i = 0; i < 5; i++) await kit.agent.record('climate', { temperatureC: 20.26 + i, humidityPct: 41 });
  await kit.agent.record('hvac', { mode: 'heat', running: true, setpointC: 21 });
  await kit.agent.flush();
  await until(() => col.readings.length === 6, 'six readings at the collector');
  // Opened and verified by the collector; minimised on the device (climate defaults to rounded).
  expect(col.data(deviceId, 'climate').map((d) => d['temperatureC'])).toEqual([20.5, 21.5, 22.5, 23.5, 24.5]);
  expect(col.data(deviceId, 'hvac')).toEqual([{ mode: 'heat', running: true, setpointC: 21 }]);
  const stats = col.collector.stats();
  expect(Object.values(stats.rejected).reduce((a, b) => a + b, 0)).toBe(0);
  const status = kit.agent.status();
  expect(status.security.codes).not.toContain('insecure-transport');
  expect(status.published.readings).toBe(6);
  expect(status.store.queued).toBe(0);
}

describe('device identity', () => {
  it('keeps its keys across a restart on the same files, and generates them only once', async () => {
    const dir = tempDir('keys');
    const world = brokerWorld('mqtts://127.0.0.1:1', '');
    const first = await makeAgent(world, { deviceId: 'keys-1', recipientPublicKey: new Uint8Array(32).fill(9), dir });
    const keys = first.agent.publicKeys;
    await first.agent.stop();
    await closeStorage(first.storage);
    const second = await makeAgent(world, { deviceId: 'keys-1', recipientPublicKey: new Uint8Array(32).fill(9), storage: nodeFileStorage(dir), dir });
    expect(second.agent.publicKeys.box).toEqual(keys.box);
    expect(second.agent.publicKeys.sign).toEqual(keys.sign);
    expect(second.agent.audit.entries().filter((e) => e.type === 'key.generated')).toHaveLength(2);
    await second.agent.stop();
    await closeStorage(second.storage);
    // A never-started agent releases its timers on stop (the store's sweep timer is armed at creation).
    expect(world.scheduler.pending()).toBe(0);
    const third = await makeAgent(world, { deviceId: 'keys-1', recipientPublicKey: new Uint8Array(32).fill(9), dir: tempDir('keys-other') });
    expect(third.agent.publicKeys.box).not.toEqual(keys.box);
    await third.agent.stop();
    await closeStorage(third.storage);
  });
});

describe('agent over the embedded Aedes broker (TLS)', () => {
  let broker: EmbeddedBroker;
  let world: World;
  beforeAll(async () => {
    broker = await startEmbeddedBroker({ tls: true });
    world = brokerWorld(broker.url, broker.caPem);
    return async () => {
      await world.close();
      await broker.close();
    };
  });

  it('delivers readings that the collector opens and verifies', async () => {
    expect(broker.url.startsWith('mqtts://')).toBe(true);
    await sendAndCheck(world, 'aedes-th');
  });

  it('marks the device offline through its last will when the link drops', async () => {
    const { kit } = await setup(world, 'will-th');
    const observer = world.clientTransport()({ clientId: 'will-observer', cleanSession: true });
    cleanups.push(() => observer.close());
    const seen: string[] = [];
    observer.onMessage((m) => { if (m.topic === topics.status('will-th')) seen.push(utf8Decode(m.payload)); });
    await observer.connect();
    await observer.subscribe(topics.status('will-th'), 1);
    await kit.agent.start();
    await until(() => seen.includes('online'), 'online');
    world.link('will-th').dropLink();
    await until(() => seen.includes('offline'), 'offline from the last will');
    // The adapter reconnects by itself and the agent announces itself again.
    await until(() => seen.lastIndexOf('online') > seen.indexOf('offline'), 'online again after reconnect');
  });

  it('stores and forwards while the broker is down: nothing lost, in order, each reading once', async () => {
    const { kit, col } = await setup(world, 'snf-th');
    await kit.agent.start();
    await kit.agent.record('climate', { temperatureC: 10, humidityPct: 40 });
    await kit.agent.flush();
    await until(() => col.readings.length === 1, 'first reading');
    const outage = broker.restart({ downMs: 400 });
    await until(() => !kit.agent.status().connected, 'agent sees the outage');
    for (let i = 1; i <= 20; i++) await kit.agent.record('climate', { temperatureC: 10 + i, humidityPct: 40 });
    expect(kit.agent.status().store.queued).toBe(20);
    await outage;
    await until(() => col.readings.length >= 21, 'backlog drained', 8_000);
    const temps = col.data('snf-th', 'climate').map((d) => d['temperatureC']);
    expect(temps).toEqual(Array.from({ length: 21 }, (_, i) => 10 + i));
    const ids = col.readings.map((r) => `${r.reading.id.session}:${r.reading.id.seq}`);
    expect(new Set(ids).size).toBe(21);
    await until(() => kit.agent.status().store.queued === 0, 'queue empty');
  });

  it('a reading leaves the queue only after PUBACK: a link lost before or after the broker got it loses nothing', async () => {
    const faults: Array<'before' | 'after'> = ['before', 'after', 'before'];
    const col = await startCollector(world);
    const inner = world.agentTransport();
    let transport: NodeMqttTransport | undefined;
    // Fault injection at the wire: the next telemetry publish either never reaches the broker or reaches it but the
    // PUBACK is lost; both times the link drops and mqtt.js reconnects after its backoff.
    const faulty: TransportFactory = (options: TransportOptions): Transport => {
      transport = inner(options) as NodeMqttTransport;
      const real = transport;
      return {
        get connected() { return real.connected; },
        get security() { return real.security; },
        connect: () => real.connect(),
        subscribe: (filter, qos) => real.subscribe(filter, qos),
        onMessage: (handler) => real.onMessage(handler),
        onConnection: (handler) => real.onConnection(handler),
        close: () => real.close(),
        publish: async (topic, payload, opts) => {
          const fault = topic.endsWith('/telemetry') ? faults.shift() : undefined;
          if (fault === 'after') await real.publish(topic, payload, opts);
          if (fault !== undefined) {
            real.dropLink();
            throw new TrustError('TRANSPORT', `injected: link lost ${fault} the broker got it`);
          }
          return real.publish(topic, payload, opts);
        },
      };
    };
    const kit = await makeAgent(world, { deviceId: 'ack-th', recipientPublicKey: col.publicKey, transport: faulty, config: { telemetry: { maxBatch: 2, batchDelayMs: 10, drainPerSecond: 1000 } } });
    col.collector.addDevice('ack-th', kit.agent.publicKeys.box);
    cleanups.push(() => closeStorage(kit.storage), () => col.close(), () => kit.agent.stop());
    for (let i = 0; i < 10; i++) await kit.agent.record('climate', { temperatureC: i, humidityPct: 50 });
    await kit.agent.start();
    await until(async () => col.readings.length >= 10 && kit.agent.status().store.queued === 0, 'all ten delivered', 8_000);
    expect(faults).toHaveLength(0);
    expect(col.data('ack-th').map((d) => d['temperatureC'])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // The envelope whose PUBACK was lost was sent twice: the collector saw the copy and dropped its readings.
    expect(col.collector.stats().duplicates).toBeGreaterThanOrEqual(1);
    expect(kit.agent.status().published.failures).toBe(3);
    expect(transport).toBeDefined();
  });

  it('keeps readings recorded before start and while stopped, and sends them after the next start', async () => {
    const dir = tempDir('restart');
    const col = await startCollector(world);
    cleanups.push(() => col.close());
    const first = await makeAgent(world, { deviceId: 'restart-th', recipientPublicKey: col.publicKey, dir });
    col.collector.addDevice('restart-th', first.agent.publicKeys.box);
    const before = await first.agent.record('climate', { temperatureC: 5, humidityPct: 50 });
    expect(before).toEqual({ stored: 1, queued: 1 });
    await first.agent.stop(); // never started: nothing sent, everything durable
    await closeStorage(first.storage);
    expect(col.readings).toHaveLength(0);
    const second = await makeAgent(world, { deviceId: 'restart-th', recipientPublicKey: col.publicKey, storage: nodeFileStorage(dir), dir });
    cleanups.push(() => closeStorage(second.storage), () => second.agent.stop());
    await second.agent.record('climate', { temperatureC: 6, humidityPct: 50 });
    await second.agent.start();
    await until(() => col.readings.length === 2, 'both readings after start');
    expect(col.data('restart-th').map((d) => d['temperatureC'])).toEqual([5, 6]);
  });
});

describe('plaintext transport', () => {
  let plain: EmbeddedBroker;
  let world: World;
  beforeAll(async () => {
    plain = await startEmbeddedBroker({ tls: false });
    world = brokerWorld(plain.url, '');
    return async () => {
      await world.close();
      await plain.close();
    };
  });

  it('refuses a plaintext mqtt:// URL with INSECURE_TRANSPORT unless allowed', () => {
    expect(plain.url.startsWith('mqtt://')).toBe(true);
    expect(() => world.agentTransport()).toThrowError(expect.objectContaining({ code: 'INSECURE_TRANSPORT' }));
  });

  it('when allowed: warns and audits at every connect, and reports degraded mode', async () => {
    const { kit } = await setup(world, 'plain-th', { transport: world.agentTransport({ allowInsecureTransport: true }) });
    await kit.agent.start();
    const insecureAudits = () => kit.agent.audit.entries().filter((e) => e.type === 'transport.insecure').length;
    const agentWarnings = () => world.logger.entries.filter((e) => e.level === 'warn' && e.message.startsWith('insecure transport in use')
      && e.fields['deviceId'] === 'plain-th').length;
    await until(() => insecureAudits() === 1, 'first insecure audit');
    expect(agentWarnings()).toBe(1);
    const status = kit.agent.status();
    expect(status.mode).toBe('degraded');
    expect(status.security.codes).toEqual(expect.arrayContaining(['tls-off', 'insecure-allowed']));
    world.link('plain-th').dropLink();
    await until(() => insecureAudits() === 2, 'second insecure audit after reconnect');
    expect(agentWarnings()).toBe(2);
  });
});

describeMosquitto('agent over Mosquitto (TLS)', () => {
  let mosquitto: MosquittoBroker;
  let world: World;
  beforeAll(async () => {
    mosquitto = await startMosquitto({ tls: true });
    world = brokerWorld(mosquitto.url, mosquitto.caPem);
    return async () => {
      await world.close();
      await mosquitto.stop();
    };
  });

  it('delivers readings that the collector opens and verifies', async () => {
    expect(mosquitto.url.startsWith('mqtts://')).toBe(true);
    await sendAndCheck(world, 'mosq-th');
  });

  it('owner channel over Mosquitto: pair, a change obeyed by the next reading, a request kept for the offline device', async () => {
    const dir = tempDir('mosq-owner');
    const col = await startCollector(world);
    cleanups.push(() => col.close());
    const first = await makeAgent(world, { deviceId: 'mosq-own', recipientPublicKey: col.publicKey, dir });
    col.collector.addDevice('mosq-own', first.agent.publicKeys.box);
    await first.agent.start();
    const companion = await pairOwner(world, first);
    cleanups.push(() => companion.close());
    await companion.setPreferences({ categories: { climate: { setting: 'full' } }, manifestReviewed: true });
    await first.agent.record('climate', { temperatureC: 20.26, humidityPct: 41 });
    await first.agent.stop();
    await closeStorage(first.storage);
    await until(() => col.readings.length === 1, 'reading sent at stop');
    expect(col.data('mosq-own')).toEqual([{ temperatureC: 20.26, humidityPct: 41 }]);
    const pending = companion.setPreferences({ categories: { climate: { setting: 'minimised' } } }, { timeoutMs: 8_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const second = await makeAgent(world, { deviceId: 'mosq-own', recipientPublicKey: col.publicKey, storage: nodeFileStorage(dir), dir });
    cleanups.push(() => closeStorage(second.storage), () => second.agent.stop());
    await second.agent.start();
    await pending;
    await second.agent.record('climate', { temperatureC: 20.26, humidityPct: 41 });
    await second.agent.flush();
    await until(() => col.readings.length === 2, 'second reading');
    expect(col.data('mosq-own')[1]).toEqual({ temperatureC: 20.5, humidityPct: 40 });
  });

  it('drains what was recorded while Mosquitto was down, each reading once', async () => {
    const { kit, col } = await setup(world, 'mosq-snf');
    await kit.agent.start();
    await kit.agent.record('climate', { temperatureC: 1, humidityPct: 40 });
    await until(() => col.readings.length === 1, 'first reading');
    const restart = mosquitto.restart();
    await until(() => !kit.agent.status().connected, 'outage seen');
    for (let i = 2; i <= 6; i++) await kit.agent.record('climate', { temperatureC: i, humidityPct: 40 });
    await restart;
    await until(() => col.readings.length >= 6 && kit.agent.status().store.queued === 0, 'drained after restart', 8_000);
    expect(col.data('mosq-snf').map((d) => d['temperatureC'])).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
