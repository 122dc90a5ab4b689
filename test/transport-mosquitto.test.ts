import { afterAll, beforeAll, expect, it } from 'vitest';
import { memoryLogger } from '../agent/adapters/memory/logger.js';
import { nodeMqttTransport } from '../agent/adapters/node/mqtt.js';
import type { NodeMqttTransport } from '../agent/adapters/node/mqtt.js';
import type { TransportOptions } from '../agent/ports/transport.js';
import { isTrustError } from '../agent/errors.js';
import { describeMosquitto, startMosquitto } from './helpers/mosquitto.js';
import type { MosquittoBroker } from './helpers/mosquitto.js';
import { createTestPki } from './helpers/tls.js';
import { bytes, collect, connectionLog, eventually, expectPlainBytes, text } from './helpers/transport-cases.js';

describeMosquitto('node MQTT transport against Mosquitto over TLS', () => {
  let broker: MosquittoBroker;
  const open: NodeMqttTransport[] = [];
  const logger = memoryLogger();
  const make = (clientId: string, extra: Partial<TransportOptions> = {}) => {
    const transport = nodeMqttTransport({ url: broker.url, ca: broker.caPem, logger, reconnect: { initialDelayMs: 50, maxDelayMs: 300 } })({
      clientId,
      ...extra,
    });
    open.push(transport);
    return transport;
  };

  beforeAll(async () => {
    broker = await startMosquitto({ tls: true });
  });
  afterAll(async () => {
    await Promise.all(open.map((t) => t.close()));
    await broker?.stop();
  });

  it('connects with the test CA and round-trips QoS 1 as plain bytes', async () => {
    expect(broker.url).toMatch(/^mqtts:/);
    const sub = make('mq-sub');
    const pub = make('mq-pub');
    await sub.connect();
    await pub.connect();
    const received = collect(sub);
    await sub.subscribe('ta/v1/+/telemetry', 1);
    for (let i = 0; i < 20; i++) await pub.publish('ta/v1/dev1/telemetry', bytes(`r${i}`), { qos: 1 });
    await eventually(() => expect(received).toHaveLength(20));
    expect(received.map((m) => text(m.payload))).toEqual(Array.from({ length: 20 }, (_, i) => `r${i}`));
    expectPlainBytes(received[0]!.payload);
  });

  it('refuses the broker when configured with a different CA', async () => {
    const otherPki = createTestPki('other');
    try {
      const wrong = nodeMqttTransport({ url: broker.url, ca: otherPki.caPem, logger })({ clientId: 'mq-wrong-ca' });
      await expect(wrong.connect()).rejects.toSatisfy((e) => isTrustError(e, 'TRANSPORT') && /certificate/.test((e as Error).message));
    } finally {
      otherPki.remove();
    }
  });

  it('refuses a certificate whose name does not match the server name asked for', async () => {
    const wrongName = nodeMqttTransport({ url: broker.url, ca: broker.caPem, servername: 'broker.example', logger })({ clientId: 'mq-wrong-name' });
    await expect(wrongName.connect()).rejects.toSatisfy((e) => isTrustError(e, 'TRANSPORT') && /ALTNAME/.test((e as Error).message));
  });

  it('the last will marks a device offline when its link drops', async () => {
    const watcher = make('mq-watcher');
    await watcher.connect();
    const wills = collect(watcher);
    await watcher.subscribe('ta/v1/dev2/status', 1);
    const device = make('mq-dev2', { will: { topic: 'ta/v1/dev2/status', payload: bytes('offline'), qos: 1, retain: false } });
    const events = connectionLog(device);
    await device.connect();
    device.dropLink();
    await eventually(() => expect(wills.map((m) => text(m.payload))).toEqual(['offline']));
    await eventually(() => expect(events).toEqual([true, false, true]));
  });

  it('keeps a persistent session across a broker restart and delivers what was queued for an offline client', async () => {
    const device = make('mq-restart-dev');
    const events = connectionLog(device);
    await device.connect();
    await device.subscribe('ta/v1/dev3/cmd', 1);
    await device.close();
    const pub = make('mq-restart-pub');
    await pub.connect();
    await pub.publish('ta/v1/dev3/cmd', bytes('queued-before-restart'), { qos: 1 });

    await broker.restart();
    await eventually(() => expect(pub.connected).toBe(true));
    await expect(pub.publish('ta/v1/dev3/cmd', bytes('after-restart'), { qos: 1 })).resolves.toBeUndefined();

    const again = make('mq-restart-dev');
    const received = collect(again);
    await again.connect();
    await eventually(() => expect(received.map((m) => text(m.payload))).toEqual(['queued-before-restart', 'after-restart']));
    expect(events).toEqual([true, false]);
  });
});

describeMosquitto('plaintext Mosquitto listener', () => {
  let broker: MosquittoBroker;
  beforeAll(async () => {
    broker = await startMosquitto({ tls: false });
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('is refused without the opt-in and warned about at every connect with it', async () => {
    const logger = memoryLogger();
    expect(() => nodeMqttTransport({ url: broker.url, logger })).toThrow(expect.objectContaining({ code: 'INSECURE_TRANSPORT' }));
    const transport = nodeMqttTransport({ url: broker.url, logger, allowInsecureTransport: true, reconnect: { initialDelayMs: 50, maxDelayMs: 300 } })({
      clientId: 'mq-plain',
    });
    try {
      await transport.connect();
      await broker.restart();
      await eventually(() => expect(logger.find('warn', 'insecure')).toHaveLength(2));
    } finally {
      await transport.close();
    }
  });
});
