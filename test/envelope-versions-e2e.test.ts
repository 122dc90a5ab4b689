import { describe, expect, it } from 'vitest';
import { decodeCbor } from '../agent/codec/cbor.js';
import { topics } from '../agent/topics.js';
import { makeAgent, memoryWorld, startCollector, until } from './helpers/agent-kit.js';

/** Devices send v2 by default, v1 when configured; one collector takes both, and the readings are the same. */
describe('envelope versions end to end', () => {
  it('a default agent sends v2 (categories as indexes of its shipped registry), a v1-configured agent sends v1, and the collector delivers both', async () => {
    const world = memoryWorld();
    const col = await startCollector(world);
    const versions = new Map<string, number>();
    col.collector.onReading(() => undefined);
    const seen = (deviceId: string) => (payload: Uint8Array) => {
      const outer = decodeCbor(payload);
      versions.set(deviceId, Array.isArray(outer) ? (outer[0] as number) : ((outer as Record<string, unknown>)['v'] as number));
    };
    const kits = [];
    for (const [deviceId, config] of [['v2-th', {}], ['v1-th', { telemetry: { envelopeVersion: 1 as const } }]] as const) {
      const base = world.agentTransport();
      const kit = await makeAgent(world, {
        deviceId, recipientPublicKey: col.publicKey, config,
        transport: (options) => {
          const inner = base(options);
          const spy = Object.create(inner) as typeof inner;
          spy.publish = (topic, payload, publishOptions) => {
            if (topic === topics.telemetry(deviceId)) seen(deviceId)(payload);
            return inner.publish(topic, payload, publishOptions);
          };
          return spy;
        },
      });
      col.collector.addDevice(deviceId, kit.agent.publicKeys.box);
      await kit.agent.start();
      await kit.agent.record('climate', { temperatureC: -2.5, humidityPct: 41 });
      await kit.agent.flush();
      kits.push(kit);
    }
    await until(() => col.readings.length === 2, 'one reading from each device');
    expect(Object.fromEntries(versions)).toEqual({ 'v2-th': 2, 'v1-th': 1 });
    // The v2 category travelled as an index and came back as its name; the minimised data is the same in both.
    expect(col.readings.map((r) => [r.deviceId, r.reading.category])).toEqual([['v2-th', 'climate'], ['v1-th', 'climate']]);
    expect(col.readings[0]?.reading.data).toEqual(col.readings[1]?.reading.data);
    expect(col.collector.stats().rejected).toMatchObject({ 'unknown-category': 0, malformed: 0 });
    for (const kit of kits) await kit.agent.stop();
  });
});
