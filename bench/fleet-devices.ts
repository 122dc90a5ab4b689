/**
 * The two kinds of simulated device the fleet bench runs: a real agent (own keys, own memory store, own TLS
 * connection through the Node MQTT adapter, system clock and timers) and the baseline, a bare mqtt.js client
 * that publishes the same reading as plain CBOR. Both publish at QoS 1 over TLS to the same broker.
 */
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import { createAgent, type Agent } from '../agent/agent.js';
import { registryFor } from '../agent/policy/devices/index.js';
import { memoryStorage } from '../agent/adapters/memory/index.js';
import { nodeCrypto, nodeMqttTransport, nodeRandom, nodeScheduler, systemClock } from '../agent/adapters/node/index.js';
import { encodeCbor } from '../agent/codec/cbor.js';
import type { LoggerPort, RandomPort } from '../agent/ports/index.js';
import type { WorkerInit } from './fleet-protocol.js';

/** One per worker: installed (and checked against its known answers) by the first agent, the same object after. */
const NODE_CRYPTO = nodeCrypto();

export interface SimDevice {
  readonly deviceId: string;
  readonly boxPublicKey: Uint8Array;
  /** Resolves with the number of readings queued for sending (1, or 0 if the gate dropped it). */
  record(temperatureC: number, at: number): Promise<number>;
  flush(): Promise<void>;
  connected(): boolean;
  envelopes(): number;
  stop(): Promise<void>;
}

export const PLAIN_TOPIC_ROOT = 'fleet-plain';

/** Counts what the agents log instead of printing it: 10,000 agents must not flood stderr. */
export function countingLogger(): LoggerPort & { warnings: number; errors: number; first: string | undefined } {
  const logger = {
    warnings: 0,
    errors: 0,
    first: undefined as string | undefined,
    debug: () => undefined,
    info: () => undefined,
    warn: (message: string) => {
      logger.warnings++;
      logger.first ??= message;
    },
    error: (message: string) => {
      logger.errors++;
      logger.first ??= message;
    },
  };
  return logger;
}

const EMPTY_KEY = new Uint8Array(32);

export async function startAgentDevice(deviceId: string, init: WorkerInit, shared: { random: RandomPort; logger: LoggerPort }): Promise<SimDevice> {
  const transport = nodeMqttTransport({ url: init.brokerUrl, ca: init.caPem, logger: shared.logger, connectTimeoutMs: 60_000 });
  const agent: Agent = await createAgent(
    {
      deviceId,
      deviceType: 'thermostat',
      registry: registryFor('thermostat'),
      recipientPublicKey: init.collectorPublicKey,
      telemetry: { batchDelayMs: init.batchDelayMs, maxBatch: init.maxBatch },
    },
    // node:crypto Ed25519/X25519, as nodePorts gives a Node device (issue 12 item 4).
    { random: shared.random, clock: systemClock(), scheduler: nodeScheduler(), storage: memoryStorage(), transport, logger: shared.logger, crypto: NODE_CRYPTO },
  );
  try {
    await agent.start();
  } catch (error) {
    await agent.stop().catch(() => undefined);
    throw error;
  }
  const humidityPct = 40;
  return {
    deviceId,
    boxPublicKey: agent.publicKeys.box,
    // 'climate' is an essential category, so it passes the first-run gate without a manifest review.
    record: async (temperatureC, at) => (await agent.record('climate', { temperatureC, humidityPct }, at)).queued,
    flush: () => agent.flush(),
    connected: () => agent.status().connected,
    envelopes: () => agent.status().published.envelopes,
    stop: () => agent.stop(),
  };
}

/** The baseline: what a fleet costs with no agent at all (TLS kept, so the comparison isolates the agent). */
export async function startPlainDevice(deviceId: string, init: WorkerInit): Promise<SimDevice> {
  const client: MqttClient = await mqtt.connectAsync(init.brokerUrl, {
    clientId: deviceId, protocolVersion: 4, clean: true, keepalive: 30, reconnectPeriod: 0, connectTimeout: 60_000, ca: init.caPem,
  });
  const topic = `${PLAIN_TOPIC_ROOT}/${deviceId}`;
  let published = 0;
  let seq = 0;
  return {
    deviceId,
    boxPublicKey: EMPTY_KEY,
    record: (temperatureC, at) =>
      new Promise<number>((resolve, reject) => {
        const payload = encodeCbor({ c: 'climate', t: at, s: seq++, d: { temperatureC, humidityPct: 40 } });
        client.publish(topic, Buffer.from(payload), { qos: 1 }, (error) => {
          if (error) return reject(error);
          published++;
          resolve(1);
        });
      }),
    flush: async () => undefined,
    connected: () => client.connected,
    envelopes: () => published,
    stop: () => client.endAsync(),
  };
}

export function startDevice(deviceId: string, init: WorkerInit, shared: { random: RandomPort; logger: LoggerPort }): Promise<SimDevice> {
  return init.mode === 'agent' ? startAgentDevice(deviceId, init, shared) : startPlainDevice(deviceId, init);
}

export function sharedPorts(): { random: RandomPort; logger: ReturnType<typeof countingLogger> } {
  return { random: nodeRandom(), logger: countingLogger() };
}
