/**
 * The receiving end of the fleet bench. Subject: the product's collector (collector/index.ts) opens, authenticates,
 * replay-checks and deduplicates every envelope that one TLS subscriber receives. Baseline: a bare mqtt.js
 * subscriber that decodes plain CBOR. Both count readings, sum their temperatures and time their delivery.
 */
import mqtt from 'mqtt';
import nacl from 'tweetnacl';
import { nodeMqttTransport } from '../agent/adapters/node/index.js';
import { decodeCbor } from '../agent/codec/cbor.js';
import { parseDeviceTopic, topics } from '../agent/topics.js';
import { createCollector, type Collector } from '../collector/index.js';
import { countingLogger, PLAIN_TOPIC_ROOT } from './fleet-devices.js';
import type { DeviceKey } from './fleet-protocol.js';

export interface Tally {
  envelopes: number;
  readings: number;
  /** Sum of temperatureC x2 over delivered readings. */
  checksum: number;
  rejected: number;
  duplicates: number;
  /** Delivery delay (device `at` to collector receipt), ms, bucketed by 10 ms up to 120 s. */
  delays: Uint32Array;
  /** Readings recorded inside the measuring window (by their device timestamp) delivered so far, and of those within the delay limit. */
  inWindow: number;
  inWindowOnTime: number;
}

interface Window {
  from: number;
  to: number;
  limitMs: number;
}

export interface FleetCollector {
  publicKey: Uint8Array;
  addDevices(keys: readonly DeviceKey[]): void;
  tally(): Tally;
  /** Devices that have delivered at least one reading (the collector has done its key agreement with them). */
  devicesHeard(): number;
  /** Starts a measuring window [from, to) in device time (epoch ms): delays and window counts restart. */
  setWindow(from: number, to: number, limitMs: number): void;
  close(): Promise<void>;
}

const BUCKET_MS = 10;
const BUCKETS = 12_000;

function emptyTally(): Tally {
  return { envelopes: 0, readings: 0, checksum: 0, rejected: 0, duplicates: 0, delays: new Uint32Array(BUCKETS), inWindow: 0, inWindowOnTime: 0 };
}

/** Counts one delivered reading: its delay always, and towards the window if it was recorded inside it. */
function noteReading(tally: Tally, window: Window, at: number, temperatureC: number): void {
  const delayMs = Date.now() - at;
  tally.readings++;
  tally.checksum += temperatureC * 2;
  const bucket = Math.min(BUCKETS - 1, Math.max(0, Math.floor(delayMs / BUCKET_MS)));
  tally.delays[bucket] = (tally.delays[bucket] ?? 0) + 1;
  if (at >= window.from && at < window.to) {
    tally.inWindow++;
    if (delayMs <= window.limitMs) tally.inWindowOnTime++;
  }
}

function windowControl(tally: Tally, window: Window): (from: number, to: number, limitMs: number) => void {
  return (from, to, limitMs) => {
    Object.assign(window, { from, to, limitMs });
    tally.delays.fill(0);
    tally.inWindow = 0;
    tally.inWindowOnTime = 0;
  };
}

export function delayPercentile(delays: Uint32Array, fraction: number): number {
  let total = 0;
  for (const count of delays) total += count;
  if (total === 0) return Number.NaN;
  let seen = 0;
  for (let bucket = 0; bucket < delays.length; bucket++) {
    seen += delays[bucket] ?? 0;
    if (seen >= total * fraction) return (bucket + 1) * BUCKET_MS;
  }
  return delays.length * BUCKET_MS;
}

/**
 * The product collector behind one TLS subscription. `shardSize` devices per Collector instance: see the
 * bench docs (a Collector's shared-key cache holds 4,096 device keys; more devices per instance thrash it).
 */
export async function startAgentCollector(url: string, caPem: string, shardSize: number): Promise<FleetCollector> {
  const secretKey = nacl.box.keyPair().secretKey;
  const shards: Collector[] = [];
  const shardOf = new Map<string, Collector>();
  let registered = 0;
  const tally = emptyTally();
  const window: Window = { from: 0, to: 0, limitMs: 0 };
  const heard = new Set<string>();
  const newShard = (): Collector => {
    const collector = createCollector({ secretKey, now: () => Date.now(), maxTrackedReadings: 2_000_000 });
    collector.onReading((deviceId, reading) => {
      heard.add(deviceId);
      noteReading(tally, window, reading.at, Number(reading.data.temperatureC));
    });
    shards.push(collector);
    return collector;
  };
  const first = newShard();
  const transport = nodeMqttTransport({ url, ca: caPem, logger: countingLogger(), connectTimeoutMs: 30_000 })({ clientId: 'fleet-collector', cleanSession: true });
  await transport.connect();
  transport.onMessage((message) => {
    const deviceId = parseDeviceTopic(message.topic)?.deviceId;
    const shard = deviceId === undefined ? undefined : shardOf.get(deviceId);
    tally.envelopes++;
    // An envelope from a device no shard knows is still opened (by the first shard) so it is counted as rejected.
    const result = (shard ?? first).ingest(message.topic, message.payload);
    if (!result.ok) tally.rejected++;
    else tally.duplicates += result.duplicates + result.expired;
  });
  await transport.subscribe(topics.allTelemetry(), 1);
  return {
    publicKey: first.publicKey,
    addDevices(keys) {
      for (const key of keys) {
        const shard = shards[Math.floor(registered++ / shardSize)] ?? newShard();
        shard.addDevice(key.deviceId, key.boxPublicKey);
        shardOf.set(key.deviceId, shard);
      }
    },
    tally: () => ({ ...tally, delays: tally.delays.slice() }),
    setWindow: windowControl(tally, window),
    devicesHeard: () => heard.size,
    close: () => transport.close(),
  };
}

/** The baseline's subscriber: plain CBOR, no keys, no replay or duplicate checks. */
export async function startPlainCollector(url: string, caPem: string): Promise<FleetCollector> {
  const tally = emptyTally();
  const window: Window = { from: 0, to: 0, limitMs: 0 };
  const heard = new Set<string>();
  const client = await mqtt.connectAsync(url, { clientId: 'fleet-plain-collector', clean: true, protocolVersion: 4, reconnectPeriod: 0, ca: caPem });
  client.on('message', (topic, payload) => {
    tally.envelopes++;
    heard.add(topic);
    try {
      const message = decodeCbor(new Uint8Array(payload.buffer, payload.byteOffset, payload.length)) as { t: number; d: { temperatureC: number } };
      noteReading(tally, window, message.t, message.d.temperatureC);
    } catch {
      tally.rejected++;
    }
  });
  await client.subscribeAsync(`${PLAIN_TOPIC_ROOT}/+`, { qos: 1 });
  return {
    publicKey: new Uint8Array(32),
    addDevices: () => undefined,
    tally: () => ({ ...tally, delays: tally.delays.slice() }),
    setWindow: windowControl(tally, window),
    devicesHeard: () => heard.size,
    close: () => client.endAsync(),
  };
}
