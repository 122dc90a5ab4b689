import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMemoryBroker, topicMatches } from '../agent/adapters/memory/transport.js';
import type { InsecureConnectEvent } from '../agent/adapters/memory/transport.js';
import type { Transport, TransportMessage, TransportOptions } from '../agent/ports/transport.js';
import { isTrustError } from '../agent/errors.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (payload: Uint8Array) => new TextDecoder().decode(payload);
const settle = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

/** A transport of the memory broker, connected. */
async function connected(broker: ReturnType<typeof createMemoryBroker>, options: TransportOptions): Promise<ReturnType<ReturnType<typeof createMemoryBroker>['transport']>> {
  const transport = broker.transport(options);
  await transport.connect();
  return transport;
}

function collect(transport: Transport): TransportMessage[] {
  const received: TransportMessage[] = [];
  transport.onMessage((message) => received.push(message));
  return received;
}

function connectionLog(transport: Transport): boolean[] {
  const events: boolean[] = [];
  transport.onConnection((connected) => events.push(connected));
  return events;
}

describe('topicMatches', () => {
  it.each([
    ['a/b/c', 'a/b/c', true],
    ['a/+/c', 'a/b/c', true],
    ['a/+/c', 'a/b/d', false],
    ['a/+', 'a/b/c', false],
    ['a/#', 'a', true],
    ['a/#', 'a/b/c', true],
    ['#', 'a/b', true],
    ['+/+', 'a/b', true],
    ['+', '/x', false],
    ['+/x', '/x', true],
    ['#', '$SYS/load', false],
    ['+/load', '$SYS/load', false],
    ['$SYS/#', '$SYS/load', true],
    ['a/b', 'a/b/', false],
  ])('filter %s vs topic %s -> %s', (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });

  it('agrees with a regular-expression model of the spec (property)', () => {
    const level = fc.constantFrom('a', 'b', '', 'dev-1');
    fc.assert(
      fc.property(fc.array(level, { minLength: 1, maxLength: 4 }), fc.array(fc.constantFrom('a', 'b', '', 'dev-1', '+'), { minLength: 1, maxLength: 4 }), fc.boolean(), (topicLevels, filterLevels, hash) => {
        const topic = topicLevels.join('/');
        const filter = hash ? [...filterLevels, '#'].join('/') : filterLevels.join('/');
        const body = filterLevels.map((l) => (l === '+' ? '[^/]*' : l)).join('/');
        const model = new RegExp(`^${body}${hash ? '(/.*)?' : ''}$`);
        expect(topicMatches(filter, topic)).toBe(model.test(topic));
      }),
    );
  });
});

describe('memory broker', () => {
  it('routes by wildcard and delivers asynchronously, in publish order', async () => {
    const broker = createMemoryBroker();
    const pub = await connected(broker, { clientId: 'pub' });
    const sub = await connected(broker, { clientId: 'sub' });
    const received = collect(sub);
    await sub.subscribe('ta/v1/+/telemetry/#', 1);
    const sent = [
      pub.publish('ta/v1/dev1/telemetry/temp', bytes('1'), { qos: 1 }),
      pub.publish('ta/v1/dev1/status', bytes('ignored'), { qos: 1 }),
      pub.publish('ta/v1/dev2/telemetry', bytes('2'), { qos: 0 }),
    ];
    // Nothing is handed to a handler inside publish(): a handler that publishes never re-enters its caller.
    expect(received).toHaveLength(0);
    await Promise.all(sent);
    await settle();
    expect(received.map((m) => [m.topic, text(m.payload), m.retain])).toEqual([
      ['ta/v1/dev1/telemetry/temp', '1', false],
      ['ta/v1/dev2/telemetry', '2', false],
    ]);
  });

  it('keeps retained messages, delivers them on subscribe with retain set, and clears them with an empty payload', async () => {
    const broker = createMemoryBroker();
    const pub = await connected(broker, { clientId: 'pub' });
    await pub.publish('state/dev1', bytes('v1'), { qos: 1, retain: true });
    await pub.publish('state/dev1', bytes('v2'), { qos: 1, retain: true });
    expect(text(broker.retained('state/dev1') ?? new Uint8Array())).toBe('v2');

    const late = await connected(broker, { clientId: 'late' });
    const received = collect(late);
    await late.subscribe('state/#', 1);
    await settle();
    expect(received.map((m) => [text(m.payload), m.retain])).toEqual([['v2', true]]);

    await pub.publish('state/dev1', new Uint8Array(), { qos: 1, retain: true });
    expect(broker.retained('state/dev1')).toBeUndefined();
  });

  it('queues QoS 1 (not QoS 0) for an offline persistent session and delivers after reconnect', async () => {
    const broker = createMemoryBroker();
    const pub = await connected(broker, { clientId: 'pub' });
    const first = await connected(broker, { clientId: 'device' });
    await first.subscribe('cmd/device', 1);
    await first.close();

    await pub.publish('cmd/device', bytes('q1'), { qos: 1 });
    await pub.publish('cmd/device', bytes('q0'), { qos: 0 });
    await pub.publish('cmd/device', bytes('q1b'), { qos: 1 });
    expect(broker.queuedFor('device')).toBe(2);

    const second = broker.transport({ clientId: 'device' });
    const received = collect(second);
    await second.connect();
    await settle();
    expect(received.map((m) => text(m.payload))).toEqual(['q1', 'q1b']);
    expect(broker.queuedFor('device')).toBe(0);
  });

  it('a clean session keeps nothing while away', async () => {
    const broker = createMemoryBroker();
    const pub = await connected(broker, { clientId: 'pub' });
    const clean = await connected(broker, { clientId: 'c', cleanSession: true });
    await clean.subscribe('x', 1);
    await clean.close();
    await pub.publish('x', bytes('lost'), { qos: 1 });
    expect(broker.queuedFor('c')).toBe(0);
  });

  it('publishes the last will on kill but not on a normal close', async () => {
    const broker = createMemoryBroker();
    const watcher = await connected(broker, { clientId: 'watcher' });
    const received = collect(watcher);
    await watcher.subscribe('status/+', 1);
    const will = { topic: 'status/dev', payload: bytes('offline'), qos: 1 as const, retain: true };

    const polite = broker.transport({ clientId: 'polite', will: { ...will, topic: 'status/polite' } });
    await polite.connect();
    await polite.close();

    const device = broker.transport({ clientId: 'dev', will });
    const events = connectionLog(device);
    await device.connect();
    broker.kill('dev');
    await settle();
    expect(received.map((m) => [m.topic, text(m.payload)])).toEqual([['status/dev', 'offline']]);
    expect(text(broker.retained('status/dev') ?? new Uint8Array())).toBe('offline');
    expect(events).toEqual([true, false]);
    expect(device.connected).toBe(false);
    await expect(device.publish('x', bytes('1'), { qos: 1 })).rejects.toSatisfy((e) => isTrustError(e, 'TRANSPORT'));
    expect(broker.stats.willsPublished).toBe(1);
  });

  it('partition cuts a client off (events, will, rejected publishes) and heals with queued delivery', async () => {
    const broker = createMemoryBroker();
    const pub = await connected(broker, { clientId: 'pub' });
    const watcher = await connected(broker, { clientId: 'watcher' });
    const wills = collect(watcher);
    await watcher.subscribe('status/#', 1);

    const device = broker.transport({ clientId: 'dev', will: { topic: 'status/dev', payload: bytes('gone'), qos: 1, retain: false } });
    const events = connectionLog(device);
    const received = collect(device);
    await device.connect();
    await device.subscribe('cmd/dev', 1);

    broker.partition('dev', true);
    expect(device.connected).toBe(false);
    await expect(device.publish('t', bytes('x'), { qos: 1 })).rejects.toSatisfy((e) => isTrustError(e, 'TRANSPORT'));
    await expect(device.connect()).rejects.toSatisfy((e) => isTrustError(e, 'TRANSPORT'));
    await pub.publish('cmd/dev', bytes('while-away'), { qos: 1 });
    await settle();
    expect(received).toHaveLength(0);
    expect(wills.map((m) => text(m.payload))).toEqual(['gone']);

    broker.partition('dev', false);
    await settle();
    expect(events).toEqual([true, false, true]);
    expect(received.map((m) => text(m.payload))).toEqual(['while-away']);
  });

  it('an outage drops everyone without wills and everyone comes back with sessions intact', async () => {
    const broker = createMemoryBroker();
    const a = broker.transport({ clientId: 'a', will: { topic: 'will/a', payload: bytes('x'), qos: 1, retain: true } });
    const b = broker.transport({ clientId: 'b' });
    await a.connect();
    await b.connect();
    const received = collect(b);
    await b.subscribe('t', 1);
    broker.outage(true);
    expect([a.connected, b.connected]).toEqual([false, false]);
    broker.outage(false);
    await a.publish('t', bytes('after'), { qos: 1 });
    await settle();
    expect(received.map((m) => text(m.payload))).toEqual(['after']);
    expect(broker.retained('will/a')).toBeUndefined();
  });

  it('takes over a session when the same client id connects again', async () => {
    const broker = createMemoryBroker();
    const old = broker.transport({ clientId: 'dup' });
    const events = connectionLog(old);
    await old.connect();
    const fresh = await connected(broker, { clientId: 'dup' });
    expect(events).toEqual([true, false]);
    expect([old.connected, fresh.connected]).toEqual([false, true]);
  });

  it('copies payloads so later mutation by the sender changes nothing delivered', async () => {
    const broker = createMemoryBroker();
    const t = await connected(broker, { clientId: 'self' });
    const received = collect(t);
    await t.subscribe('echo', 0);
    const payload = bytes('abc');
    await t.publish('echo', payload, { qos: 0 });
    payload.fill(0);
    await settle();
    expect(text(received[0]!.payload)).toBe('abc');
  });

  it('rejects wildcards in publish topics and malformed filters', async () => {
    const t = createMemoryBroker().transport({ clientId: 'v' });
    await t.connect();
    await expect(t.publish('a/+', bytes('x'), { qos: 0 })).rejects.toSatisfy((e) => isTrustError(e, 'INVALID_ARGUMENT'));
    for (const bad of ['a/#/b', 'a+/b', '', 'a/b#']) {
      await expect(t.subscribe(bad, 1)).rejects.toSatisfy((e) => isTrustError(e, 'INVALID_ARGUMENT'));
    }
  });

  it('bounds each client queue and counts the overflow', async () => {
    const broker = createMemoryBroker({ maxQueuedPerClient: 3 });
    const sub = await connected(broker, { clientId: 'slow' });
    await sub.subscribe('x', 1);
    await sub.close();
    const pub = await connected(broker, { clientId: 'pub' });
    for (let i = 0; i < 5; i++) await pub.publish('x', bytes(String(i)), { qos: 1 });
    expect(broker.queuedFor('slow')).toBe(3);
    expect(broker.stats.droppedQueueFull).toBe(2);
  });

  it('reports an insecure link at every connect when configured as plaintext', async () => {
    const events: InsecureConnectEvent[] = [];
    const broker = createMemoryBroker({ insecure: true, onInsecureConnect: (e) => events.push(e) });
    const t = await connected(broker, { clientId: 'plain' });
    broker.partition('plain', true);
    broker.partition('plain', false);
    expect(events.map((e) => e.clientId)).toEqual(['plain', 'plain']);
    expect(t.security.encrypted).toBe(false);
  });
});

describe('memory broker under partitions (property)', () => {
  it('a persistent QoS 1 subscriber gets every message exactly once, in order, whatever the cuts', async () => {
    const step = fc.oneof(fc.constant('publish' as const), fc.constant('cut' as const), fc.constant('heal' as const), fc.constant('settle' as const));
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 40 }), async (steps) => {
        const broker = createMemoryBroker();
        const pub = await connected(broker, { clientId: 'pub' });
        const sub = await connected(broker, { clientId: 'sub' });
        const received = collect(sub);
        await sub.subscribe('seq', 1);
        let sent = 0;
        for (const action of steps) {
          if (action === 'publish') await pub.publish('seq', bytes(String(sent++)), { qos: 1 });
          else if (action === 'cut') broker.partition('sub', true);
          else if (action === 'heal') broker.partition('sub', false);
          else await settle();
        }
        broker.partition('sub', false);
        await settle();
        expect(received.map((m) => Number(text(m.payload)))).toEqual(Array.from({ length: sent }, (_, i) => i));
      }),
      { numRuns: 100 },
    );
  });
});
