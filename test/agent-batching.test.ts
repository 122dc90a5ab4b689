import { describe, expect, it } from 'vitest';
import type { Transport, TransportFactory } from '../agent/ports/index.js';
import { makeAgent, memoryWorld, startCollector } from './helpers/agent-kit.js';

/** Batching holds when the broker is slow to acknowledge: envelopes carry full batches, not what trickled in. */
describe('publisher batching under slow acknowledgements', () => {
  it('after a PUBACK, a partial remainder waits for its own batch delay instead of going out at once', async () => {
    const world = memoryWorld();
    const time = world.time;
    if (time === undefined) throw new Error('virtual time expected');
    const col = await startCollector(world);
    const envelopes: number[] = [];
    col.collector.onReading(() => undefined);
    const base = world.agentTransport();
    // The broker takes 500 ms (virtual) to acknowledge each envelope.
    const slow: TransportFactory = (options) => {
      const inner = base(options);
      const wrapped: Transport = Object.create(inner) as Transport;
      wrapped.publish = async (topic, payload, publishOptions) => {
        if (topic.endsWith('/telemetry')) {
          await new Promise<void>((resolve) => time.setTimeout(resolve, 500));
          const result = col.collector.ingest(topic, payload);
          if (result.ok) envelopes.push(result.delivered.length);
        }
        return inner.publish(topic, payload, publishOptions);
      };
      return wrapped;
    };
    const kit = await makeAgent(world, {
      deviceId: 'slow-th', recipientPublicKey: col.publicKey, transport: slow,
      config: { telemetry: { maxBatch: 4, batchDelayMs: 2_000, drainPerSecond: 1_000 } },
    });
    col.collector.addDevice('slow-th', kit.agent.publicKeys.box);
    await kit.agent.start();
    await kit.agent.rights.applyPatch({ manifestReviewed: true });
    const at = time.now();
    for (let i = 0; i < 4; i++) await kit.agent.record('hvac', { mode: 'heat', running: true, setpointC: 20 + i }, at + i);
    await time.advance(2_100); // batch timer fired; the first envelope waits for its PUBACK
    await kit.agent.record('hvac', { mode: 'heat', running: false, setpointC: 30 }, time.now());
    await time.advance(450); // PUBACK of the first envelope, and a little after it
    for (let i = 0; i < 2; i++) await kit.agent.record('hvac', { mode: 'auto', running: false, setpointC: 31 + i }, time.now());
    await time.advance(10_000);
    expect(envelopes).toEqual([4, 3]);
    await kit.agent.stop();
  });
});
