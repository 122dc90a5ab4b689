import { createServer, type Server } from 'node:net';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Transport, TransportMessage } from '../agent/ports/transport.js';
import { topics } from '../agent/topics.js';
import { makeWorld, readings, T0, wireTestRandom, type TestDevice, type TestWorld } from './envelope-fixtures.js';

/**
 * The collector behind a real MQTT broker (Aedes, plain TCP on loopback): devices publish sealed envelopes with
 * mqtt.js at QoS 1, the collector subscribes through the Transport port.
 */
let broker: Aedes;
let server: Server;
let url: string;

beforeAll(async () => {
  wireTestRandom();
  broker = await Aedes.createBroker();
  server = createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  url = `mqtt://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => broker.close(() => resolve()));
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Just enough of the Transport port over mqtt.js for this test; the real adapter lives in agent/adapters/node. */
function mqttTransport(clientId: string): Transport & { client: MqttClient } {
  const client = mqtt.connect(url, { clientId, clean: false, reconnectPeriod: 0, manualConnect: true });
  const messageHandlers: Array<(m: TransportMessage) => void> = [];
  const connectionHandlers: Array<(c: boolean) => void> = [];
  client.on('message', (topic, payload, packet) => {
    for (const h of messageHandlers) h({ topic, payload: new Uint8Array(payload), retain: packet.retain });
  });
  client.on('connect', () => connectionHandlers.forEach((h) => h(true)));
  client.on('close', () => connectionHandlers.forEach((h) => h(false)));
  return {
    client,
    get connected() {
      return client.connected;
    },
    connect: () => new Promise((resolve, reject) => (client.once('connect', () => resolve()).once('error', reject), client.connect())),
    publish: async (topic, payload, options) => void (await client.publishAsync(topic, Buffer.from(payload), { qos: options.qos, retain: options.retain ?? false })),
    subscribe: async (filter, qos) => void (await client.subscribeAsync(filter, { qos })),
    onMessage: (h) => void messageHandlers.push(h),
    onConnection: (h) => void connectionHandlers.push(h),
    close: () => client.endAsync(),
  };
}

async function publisher(clientId: string): Promise<MqttClient> {
  return mqtt.connectAsync(url, { clientId, clean: true, reconnectPeriod: 0 });
}

async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

function send(client: MqttClient, device: TestDevice, envelope: Uint8Array): Promise<unknown> {
  return client.publishAsync(topics.telemetry(device.deviceId), Buffer.from(envelope), { qos: 1 });
}

describe('collector over Aedes', () => {
  let world: TestWorld;
  let transport: ReturnType<typeof mqttTransport>;

  it('three devices, batches, redeliveries and garbage: every reading exactly once, rejects counted', async () => {
    world = makeWorld();
    transport = mqttTransport('collector-1');
    await transport.connect();
    await world.collector.attach(transport);
    const devices = ['thermo-1', 'lock-1', 'fitness-1'].map((id) => world.device(id));
    const client = await publisher('devices');
    const sent: Uint8Array[] = [];
    for (const device of devices) {
      for (let batch = 0; batch < 10; batch++) {
        const envelope = device.sealer.seal('telemetry', readings(device, batch * 5, 5), T0);
        sent.push(envelope);
        await send(client, device, envelope);
      }
      // The agent re-seals the last batch after a lost PUBACK: new envelope, same readings.
      await send(client, device, device.sealer.seal('telemetry', readings(device, 45, 5), T0));
    }
    // A broker or an attacker re-publishes envelopes, then garbage and a stray topic.
    for (const envelope of sent.slice(0, 3)) await send(client, devices[0]!, envelope);
    await client.publishAsync(topics.telemetry('thermo-1'), Buffer.from([0xde, 0xad, 0xbe, 0xef]), { qos: 1 });
    await client.publishAsync(topics.telemetry('thermo-1'), Buffer.from(sent[0]!.subarray(0, 40)), { qos: 1 });
    await client.publishAsync(topics.status('thermo-1'), Buffer.from('online'), { qos: 1 });
    await client.endAsync();

    const expectedReceived = 3 * 11 + 3 + 2;
    await eventually(() => world.collector.stats().received === expectedReceived, 'all envelopes at the collector');
    const stats = world.collector.stats();
    expect(stats).toMatchObject({ accepted: 33, readings: 150, duplicates: 15, expiredOnArrival: 0 });
    // The three re-published envelopes were thermo-1's, sent here on thermo-1's topic: replays.
    expect(stats.rejected).toMatchObject({ replay: 3, malformed: 2 });
    const perDevice = new Map<string, Set<string>>();
    for (const { deviceId, reading } of world.delivered) {
      const seen = perDevice.get(deviceId) ?? new Set();
      seen.add(`${reading.id.session}/${reading.id.seq}`);
      perDevice.set(deviceId, seen);
    }
    expect([...perDevice.entries()].map(([d, s]) => [d, s.size])).toEqual([['thermo-1', 50], ['lock-1', 50], ['fitness-1', 50]]);
    expect(world.delivered).toHaveLength(150);
  });

  it('envelopes published while the collector is away wait at the broker (QoS 1, persistent session)', async () => {
    await transport.close();
    const device = world.device('thermo-2');
    const client = await publisher('devices-2');
    for (let batch = 0; batch < 4; batch++) await send(client, device, device.sealer.seal('telemetry', readings(device, batch * 3, 3), T0));
    await client.endAsync();
    const before = world.collector.stats().readings;
    const back = mqttTransport('collector-1');
    await back.connect();
    await world.collector.attach(back);
    await eventually(() => world.collector.stats().readings === before + 12, 'queued envelopes after reconnect');
    expect(world.delivered.filter((d) => d.deviceId === 'thermo-2')).toHaveLength(12);
    await back.close();
  });
});
