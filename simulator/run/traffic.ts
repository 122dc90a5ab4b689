import type { PublishOptions, Transport, TransportFactory, TransportMessage, TransportOptions } from '../../agent/ports/transport.js';
import type { NodeMqttTransport } from '../../agent/adapters/node/index.js';

const TELEMETRY = /^ta\/v1\/[^/]+\/telemetry$/;

/**
 * Counts what crosses the real network so the run loop can hold virtual time still until it has settled: every
 * publish acknowledged by the broker and every telemetry envelope seen by the collector and the raw subscriber.
 * This is what makes a run repeatable: a reading's receipt time is the virtual instant it was sent, whatever the
 * real network latency was.
 */
export class Traffic {
  inFlight = 0;
  telemetryAcked = 0;
  collectorTelemetry = 0;
  wireTelemetry = 0;
  /** Waits that gave up (the network did not settle within the real-time cap); reported, never hidden. */
  stalls = 0;

  /** Wrap a transport factory so every publish is counted. */
  instrument(factory: (options: TransportOptions) => NodeMqttTransport): (options: TransportOptions) => CountedTransport {
    return (options) => new CountedTransport(factory(options), this);
  }

  onPublished(topic: string): void {
    if (TELEMETRY.test(topic)) this.telemetryAcked++;
  }

  /** True when nothing is in flight and every acknowledged envelope reached the collector and the wire log. */
  quiet(): boolean {
    return this.inFlight === 0 && this.collectorTelemetry >= this.telemetryAcked && this.wireTelemetry >= this.telemetryAcked;
  }

  countCollector(message: TransportMessage): void {
    if (TELEMETRY.test(message.topic)) this.collectorTelemetry++;
  }

  countWire(message: TransportMessage): void {
    if (TELEMETRY.test(message.topic)) this.wireTelemetry++;
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
      this.traffic.onPublished(topic);
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
