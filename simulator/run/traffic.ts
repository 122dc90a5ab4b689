import { createHash } from 'node:crypto';
import type { PublishOptions, Transport, TransportFactory, TransportMessage, TransportOptions } from '../../agent/ports/transport.js';
import type { NodeMqttTransport } from '../../agent/adapters/node/index.js';

const TELEMETRY = /^ta\/v1\/[^/]+\/telemetry$/;
const PROJECT = /^ta\/v1\//;

/** Which message this is: topic and payload digest (envelopes carry a fresh nonce, so each publish is distinct). */
export function messageKey(topic: string, payload: Uint8Array): string {
  return `${topic}\u0000${createHash('sha256').update(payload).digest('base64')}`;
}

/**
 * Messages a receiver still owes: per message, publishes acknowledged minus copies received. Counted per message,
 * not in total: an MQTT QoS 1 redelivery (a copy whose PUBACK was lost when a link was cut: real timing decides
 * whether that happens) must not stand in for a different message that has not arrived yet.
 */
class Owed {
  private readonly balance = new Map<string, number>();
  /** Messages with at least one acknowledged publish not yet received. */
  outstanding = 0;

  published(key: string): void {
    this.move(key, 1);
  }

  received(key: string): void {
    this.move(key, -1);
  }

  private move(key: string, by: number): void {
    const before = this.balance.get(key) ?? 0;
    const after = before + by;
    if (before > 0) this.outstanding--;
    if (after > 0) this.outstanding++;
    if (after === 0) this.balance.delete(key);
    else this.balance.set(key, after);
  }
}

/**
 * Counts what crosses the real network so the run loop can hold virtual time still until it has settled: every
 * publish acknowledged by the broker, every telemetry envelope seen by the collector and every project message seen
 * by the raw subscriber. This is what makes a run repeatable: a message's receipt time is the virtual instant it was
 * sent, whatever the real network latency was.
 */
export class Traffic {
  inFlight = 0;
  private readonly collector = new Owed();
  private readonly wire = new Owed();
  /** Waits that gave up (the network did not settle within the real-time cap); reported, never hidden. */
  stalls = 0;

  /** Wrap a transport factory so every publish is counted. */
  instrument(factory: (options: TransportOptions) => NodeMqttTransport): (options: TransportOptions) => CountedTransport {
    return (options) => new CountedTransport(factory(options), this);
  }

  onPublished(topic: string, payload: Uint8Array): void {
    if (!PROJECT.test(topic)) return;
    const key = messageKey(topic, payload);
    this.wire.published(key);
    if (TELEMETRY.test(topic)) this.collector.published(key);
  }

  /**
   * Whether the collector must see every telemetry message to be quiet. Not in a sharded run: the collectors share
   * the telemetry through a shared subscription, so this process's collector sees only its part of it.
   */
  awaitsCollector = true;

  /** True when nothing is in flight and every acknowledged message reached the collector and the wire log. */
  quiet(): boolean {
    return this.inFlight === 0 && (!this.awaitsCollector || this.collector.outstanding === 0) && this.wire.outstanding === 0;
  }

  countCollector(message: TransportMessage): void {
    if (TELEMETRY.test(message.topic)) this.collector.received(messageKey(message.topic, message.payload));
  }

  countWire(message: TransportMessage, key = messageKey(message.topic, message.payload)): void {
    if (PROJECT.test(message.topic)) this.wire.received(key);
  }
}

/** A transport that reports its publishes to the Traffic counters; everything else passes through. */
export class CountedTransport implements Transport {
  constructor(readonly inner: NodeMqttTransport, private readonly traffic: Traffic) {}

  get connected(): boolean {
    return this.inner.connected;
  }
  get security() {
    return this.inner.security;
  }
  connect(): Promise<void> {
    return this.inner.connect();
  }
  async publish(topic: string, payload: Uint8Array, options: PublishOptions): Promise<void> {
    this.traffic.inFlight++;
    try {
      await this.inner.publish(topic, payload, options);
      this.traffic.onPublished(topic, payload);
    } finally {
      this.traffic.inFlight--;
    }
  }
  async subscribe(filter: string, qos: 0 | 1): Promise<void> {
    // A subscription in flight is traffic too: a state report often follows its acknowledgement.
    this.traffic.inFlight++;
    try {
      await this.inner.subscribe(filter, qos);
    } finally {
      this.traffic.inFlight--;
    }
  }
  onMessage(handler: (message: TransportMessage) => void): void {
    this.inner.onMessage(handler);
  }
  onConnection(handler: (connected: boolean) => void): void {
    this.inner.onConnection(handler);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  /** Power cut: the socket dies without DISCONNECT. */
  dropLink(): void {
    this.inner.dropLink();
  }
}

export const nextMacrotask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Wait (in real time, virtual time standing still) until `ready()` holds on two consecutive macrotask turns, so a
 * continuation that publishes right after an acknowledgement is not missed. Gives up after `capMs` and says so.
 */
export async function waitUntil(ready: () => boolean, capMs: number): Promise<boolean> {
  const deadline = performance.now() + capMs;
  let spins = 0;
  for (;;) {
    await nextMacrotask();
    if (ready()) {
      await nextMacrotask();
      if (ready()) return true;
    }
    if (performance.now() > deadline) return false;
    // Busy turns first (loopback replies take microseconds), then short sleeps so a slow broker is not starved.
    if (++spins > 50) await sleep(1);
  }
}
