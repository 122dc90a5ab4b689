import { build } from 'esbuild';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryLogger } from '../agent/adapters/memory/logger.js';
import { nodeMqttTransport } from '../agent/adapters/node/mqtt.js';
import type { NodeMqttTransport } from '../agent/adapters/node/mqtt.js';
import type { InsecureConnectEvent } from '../agent/adapters/memory/transport.js';
import { isTrustError } from '../agent/errors.js';
import { startEmbeddedBroker } from '../simulator/broker.js';
import type { EmbeddedBroker } from '../simulator/broker.js';
import { bytes, collect, connectionLog, eventually, expectPlainBytes, text } from './helpers/transport-cases.js';

const fastReconnect = { initialDelayMs: 20, maxDelayMs: 200 };

// Run in a child process: it must exit by itself, which proves no socket, server or timer was left behind.
const LIFECYCLE_SCRIPT = `
import { startEmbeddedBroker } from './simulator/broker.ts';
import { nodeMqttTransport } from './agent/adapters/node/mqtt.ts';
import { memoryLogger } from './agent/adapters/memory/logger.ts';
const broker = await startEmbeddedBroker();
const transport = nodeMqttTransport({ url: broker.url, ca: broker.caPem, logger: memoryLogger(), reconnect: { initialDelayMs: 20, maxDelayMs: 200 } })({ clientId: 'lifecycle' });
const events = [];
transport.onConnection((connected) => events.push(connected));
await transport.connect();
await broker.restart();
while (events.join() !== 'true,false,true') await new Promise((resolve) => setTimeout(resolve, 20));
await transport.publish('t', new Uint8Array([1]), { qos: 1 });
if (process.env.LEAK !== '1') await transport.close();
await broker.close();
console.log('done');
`;

async function runLifecycleChild(leak: boolean): Promise<{ code: number | null; stdout: string }> {
  const outfile = join(process.cwd(), 'node_modules', '.cache', `ta-lifecycle-${process.pid}.mjs`);
  await build({
    stdin: { contents: LIFECYCLE_SCRIPT, resolveDir: process.cwd(), loader: 'ts' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    outfile,
    logLevel: 'silent',
  });
  try {
    const child = spawn(process.execPath, [outfile], { env: { ...process.env, LEAK: leak ? '1' : '0' }, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    // The leaky control only has to outlive, after its work is done, the time a clean run needs to exit; the clock
    // starts at 'done' so a slow machine (TLS key generation under load) cannot kill it early.
    let grace: ReturnType<typeof setTimeout> | undefined;
    child.stdout.on('data', (chunk) => {
      stdout += String(chunk);
      if (leak && grace === undefined && stdout.includes('done')) grace = setTimeout(() => child.kill('SIGKILL'), 1_500);
    });
    const cap = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await new Promise<number | null>((resolve) => child.on('exit', (exitCode) => resolve(exitCode)));
    clearTimeout(cap);
    if (grace !== undefined) clearTimeout(grace);
    return { code, stdout };
  } finally {
    rmSync(outfile, { force: true });
  }
}

describe('embedded broker lifecycle', () => {
  it('close() frees everything: a process that used the broker and a client exits by itself', async () => {
    const clean = await runLifecycleChild(false);
    expect(clean).toEqual({ code: 0, stdout: 'done\n' });
    // Control: a client left open keeps reconnecting, so the process does not exit and is killed.
    const leaky = await runLifecycleChild(true);
    expect(leaky.code).not.toBe(0);
    expect(leaky.stdout).toBe('done\n');
  });
});

describe('node MQTT transport against embedded Aedes over TLS', () => {
  let broker: EmbeddedBroker;
  const open: NodeMqttTransport[] = [];
  const logger = memoryLogger();
  const make = (clientId: string, extra: Partial<Parameters<ReturnType<typeof nodeMqttTransport>>[0]> = {}) => {
    const transport = nodeMqttTransport({ url: broker.url, ca: broker.caPem, logger, reconnect: fastReconnect })({ clientId, ...extra });
    open.push(transport);
    return transport;
  };

  beforeAll(async () => {
    broker = await startEmbeddedBroker();
  });
  afterAll(async () => {
    await Promise.all(open.map((t) => t.close()));
    await broker.close();
  });

  it('verifies the broker, publishes QoS 1 and delivers plain Uint8Array payloads', async () => {
    expect(broker.url).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
    const sub = make('aedes-sub');
    const pub = make('aedes-pub');
    await sub.connect();
    await pub.connect();
    expect(pub.security).toEqual({ encrypted: true, peerVerified: true });
    const received = collect(sub);
    await sub.subscribe('ta/v1/+/telemetry', 1);
    await pub.publish('ta/v1/dev1/telemetry', bytes('sealed'), { qos: 1 });
    await eventually(() => expect(received).toHaveLength(1));
    expect(received[0]!.topic).toBe('ta/v1/dev1/telemetry');
    expect(text(received[0]!.payload)).toBe('sealed');
    expectPlainBytes(received[0]!.payload);
  });

  it('delivers a retained message with the retain flag', async () => {
    const pub = make('aedes-retain-pub');
    await pub.connect();
    await pub.publish('ta/v1/dev9/state', bytes('v3'), { qos: 1, retain: true });
    const late = make('aedes-retain-sub');
    await late.connect();
    const received = collect(late);
    await late.subscribe('ta/v1/dev9/state', 1);
    await eventually(() => expect(received).toHaveLength(1));
    expect(received[0]!.retain).toBe(true);
  });

  it('refuses a broker whose certificate is not signed by the configured CA', async () => {
    const other = await startEmbeddedBroker();
    try {
      const wrong = nodeMqttTransport({ url: broker.url, ca: other.caPem, logger })({ clientId: 'aedes-wrong-ca' });
      await expect(wrong.connect()).rejects.toSatisfy((e) => isTrustError(e, 'TRANSPORT') && /certificate/.test((e as Error).message));
      expect(wrong.connected).toBe(false);
    } finally {
      await other.close();
    }
  });

  it('publishes the last will when the link drops, then reconnects by itself', async () => {
    const watcher = make('aedes-watcher');
    await watcher.connect();
    const wills = collect(watcher);
    await watcher.subscribe('ta/v1/dev2/status', 1);
    const device = make('aedes-dev2', { will: { topic: 'ta/v1/dev2/status', payload: bytes('offline'), qos: 1, retain: false } });
    const events = connectionLog(device);
    await device.connect();
    device.dropLink();
    await eventually(() => expect(wills.map((m) => text(m.payload))).toEqual(['offline']));
    await eventually(() => expect(events).toEqual([true, false, true]));
  });

  it('no will on a normal close', async () => {
    const watcher = make('aedes-watcher-2');
    await watcher.connect();
    const wills = collect(watcher);
    await watcher.subscribe('ta/v1/dev3/status', 1);
    const device = make('aedes-dev3', { will: { topic: 'ta/v1/dev3/status', payload: bytes('offline'), qos: 1, retain: false } });
    await device.connect();
    await device.close();
    // A marker published after the close proves the watcher is live and nothing came before it.
    await watcher.publish('ta/v1/dev3/status', bytes('marker'), { qos: 1 });
    await eventually(() => expect(wills.map((m) => text(m.payload))).toEqual(['marker']));
  });

  it('survives a broker restart: publish rejects while down, reconnects, persistent session still delivers', async () => {
    const device = make('aedes-restart-dev');
    const sub = make('aedes-restart-sub');
    const events = connectionLog(device);
    await device.connect();
    await sub.connect();
    const received = collect(sub);
    await sub.subscribe('ta/v1/dev4/telemetry', 1);

    const restarted = broker.restart({ downMs: 400 });
    await eventually(() => expect(events).toEqual([true, false]));
    await expect(device.publish('ta/v1/dev4/telemetry', bytes('x'), { qos: 1 })).rejects.toSatisfy((e) => isTrustError(e, 'TRANSPORT'));
    await restarted;
    await eventually(() => expect(device.connected && sub.connected).toBe(true));
    expect(events).toEqual([true, false, true]);
    await device.publish('ta/v1/dev4/telemetry', bytes('after-restart'), { qos: 1 });
    await eventually(() => expect(received.map((m) => text(m.payload))).toEqual(['after-restart']));
  });

  it('rejects an unacknowledged publish when the link drops and does not resend it itself', async () => {
    const original = broker.aedes.authorizePublish;
    const seen: string[] = [];
    // The broker swallows the first copy (no PUBACK), as a link dying mid-flight would.
    broker.aedes.authorizePublish = (client, packet, callback) => {
      if (packet.topic !== 'ta/v1/dev7/telemetry') return callback(null);
      seen.push(String(packet.payload));
      if (seen.length === 1) return;
      callback(null);
    };
    try {
      const device = make('aedes-inflight-dev');
      await device.connect();
      const inFlight = device.publish('ta/v1/dev7/telemetry', bytes('first'), { qos: 1 });
      await eventually(() => expect(seen).toEqual(['first']));
      device.dropLink();
      await expect(inFlight).rejects.toSatisfy((e) => isTrustError(e, 'TRANSPORT'));
      await eventually(() => expect(device.connected).toBe(true));
      await device.publish('ta/v1/dev7/telemetry', bytes('second'), { qos: 1 });
      expect(seen).toEqual(['first', 'second']);
    } finally {
      broker.aedes.authorizePublish = original;
    }
  });

  it('queues QoS 1 at the broker for an offline persistent subscriber', async () => {
    const sub = make('aedes-persist-sub');
    await sub.connect();
    await sub.subscribe('ta/v1/dev5/cmd', 1);
    await sub.close();
    const pub = make('aedes-persist-pub');
    await pub.connect();
    await pub.publish('ta/v1/dev5/cmd', bytes('while-away'), { qos: 1 });
    const again = make('aedes-persist-sub');
    const received = collect(again);
    await again.connect();
    await eventually(() => expect(received.map((m) => text(m.payload))).toEqual(['while-away']));
  });

  it('drops incoming payloads over the size limit and counts them', async () => {
    const small = nodeMqttTransport({ url: broker.url, ca: broker.caPem, logger, maxIncomingPayloadBytes: 64 })({ clientId: 'aedes-small' });
    open.push(small);
    await small.connect();
    const received = collect(small);
    await small.subscribe('ta/v1/dev6/#', 1);
    const pub = make('aedes-big-pub');
    await pub.connect();
    await pub.publish('ta/v1/dev6/a', new Uint8Array(65), { qos: 1 });
    await pub.publish('ta/v1/dev6/b', new Uint8Array(64), { qos: 1 });
    await eventually(() => expect(received.map((m) => m.topic)).toEqual(['ta/v1/dev6/b']));
    expect(small.droppedOversized).toBe(1);
  });
});

describe('plaintext transport', () => {
  let plain: EmbeddedBroker;
  beforeAll(async () => {
    plain = await startEmbeddedBroker({ tls: false });
  });
  afterAll(async () => {
    await plain.close();
  });

  it('refuses mqtt:// and ws:// with INSECURE_TRANSPORT unless allowed', () => {
    const logger = memoryLogger();
    for (const url of [plain.url, 'ws://127.0.0.1:9/mqtt']) {
      expect(() => nodeMqttTransport({ url, logger })).toThrow(expect.objectContaining({ code: 'INSECURE_TRANSPORT' }));
    }
    expect(() => nodeMqttTransport({ url: 'mqtts://127.0.0.1:1', rejectUnauthorized: false, logger })).toThrow(
      expect.objectContaining({ code: 'INSECURE_TRANSPORT' }),
    );
    expect(() => nodeMqttTransport({ url: 'http://127.0.0.1:1', logger })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
  });

  it('when allowed, warns and reports at every connect, reconnects included', async () => {
    const logger = memoryLogger();
    const reported: InsecureConnectEvent[] = [];
    const transport = nodeMqttTransport({
      url: plain.url,
      allowInsecureTransport: true,
      logger,
      reconnect: fastReconnect,
      onInsecureConnect: (event) => reported.push(event),
    })({ clientId: 'plain-dev' });
    try {
      expect(transport.security).toMatchObject({ encrypted: false, peerVerified: false });
      await transport.connect();
      transport.dropLink();
      await eventually(() => expect(reported).toHaveLength(2));
      expect(reported[1]).toEqual({ clientId: 'plain-dev', reason: 'plaintext mqtt transport' });
      expect(logger.find('warn', 'insecure')).toHaveLength(2);
    } finally {
      await transport.close();
    }
  });
});
