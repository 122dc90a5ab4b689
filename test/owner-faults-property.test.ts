import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Agent } from '../agent/agent.js';
import { isTrustError } from '../agent/errors.js';
import { makeAgent, memoryWorld, startCollector, until } from './helpers/agent-kit.js';
import { faultyStorage, type FaultKind } from './helpers/fault-storage.js';

/**
 * Random owner request sequences, each request with an optional storage fault at a random write, readings taken
 * offline in between, no retries. A request counts as done when it resolved, or when it was refused as "interrupted"
 * (journaled: committed); one refused with "nothing changed" has no effect. What the collector receives once the link
 * is up must obey the model: nothing of a category whose final setting does not send, nothing recorded before an
 * erase that took effect, and every climate reading not erased.
 */

type Op = { kind: 'set'; setting: 'off' | 'local' | 'full' } | { kind: 'erase-category' } | { kind: 'erase-all' } | { kind: 'reset' };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.constantFrom('off', 'local', 'full').map((setting) => ({ kind: 'set', setting }) as Op),
  fc.constant({ kind: 'erase-category' } as Op),
  fc.constant({ kind: 'erase-all' } as Op),
  fc.constant({ kind: 'reset' } as Op),
);
const step = fc.record({ op, fault: fc.option(fc.record({ at: fc.integer({ min: 1, max: 10 }), kind: fc.constantFrom<FaultKind>('eio', 'torn') }), { nil: undefined }) });

function perform(agent: Agent, o: Op): Promise<unknown> {
  switch (o.kind) {
    case 'set': return agent.rights.applyPatch({ categories: { comfort: { setting: o.setting } } });
    case 'erase-category': return agent.rights.eraseCategory('comfort');
    case 'erase-all': return agent.rights.eraseAll();
    case 'reset': return agent.rights.reset();
  }
}

describe('owner requests under random faults (property)', () => {
  it('what leaves obeys the requests that took effect, whatever failed in between', async () => {
    await fc.assert(fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 4 }), async (steps) => {
      const world = memoryWorld();
      const col = await startCollector(world);
      const faults = faultyStorage();
      const deviceId = `p-${Math.random().toString(36).slice(2, 8)}`;
      const { agent } = await makeAgent(world, { deviceId, recipientPublicKey: col.publicKey, storage: faults.storage });
      col.collector.addDevice(deviceId, agent.publicKeys.box);
      await agent.rights.applyPatch({ categories: { comfort: { setting: 'full' } }, manifestReviewed: true });
      let setting = 'full';
      let tag = 0;
      let erasedUpTo = -1;
      const climateErased = new Set<number>();
      const climate: number[] = [];
      for (const { op: o, fault } of steps) {
        tag += 1;
        await agent.record('comfort', { setting: ['home', 'away', 'sleep'][tag % 3] as string });
        await agent.record('climate', { temperatureC: tag, humidityPct: 40 });
        climate.push(tag);
        if (fault !== undefined) faults.arm(fault.at, fault.kind);
        const error = await perform(agent, o).then(() => undefined, (e: unknown) => e);
        faults.disarm();
        if (error !== undefined) expect(isTrustError(error, 'STORAGE'), String(error)).toBe(true);
        const tookEffect = error === undefined || /the device completes it/.test((error as Error).message);
        if (!tookEffect) continue;
        if (o.kind === 'set') setting = o.setting;
        if (o.kind === 'reset' || o.kind === 'erase-all') setting = 'off';
        if (o.kind === 'erase-category' || o.kind === 'erase-all') erasedUpTo = tag;
        if (o.kind === 'erase-all') for (const t of climate) climateErased.add(t);
      }
      await agent.start();
      await agent.flush();
      await world.time?.advance(5_000);
      const expectedClimate = climate.filter((t) => !climateErased.has(t));
      await until(() => col.data(deviceId, 'climate').length >= expectedClimate.length && agent.status().store.queued === 0, 'drained');
      const comfort = col.readings.filter((r) => r.deviceId === deviceId && r.reading.category === 'comfort');
      if (setting !== 'full') expect(comfort, `comfort is ${setting} at the end`).toEqual([]);
      if (erasedUpTo >= 0) expect(comfort.length, 'nothing recorded before an erase leaves').toBeLessThanOrEqual(steps.length - erasedUpTo);
      expect(col.data(deviceId, 'climate').map((d) => Math.round(Number(d['temperatureC']))).sort((a, b) => a - b))
        .toEqual(expectedClimate);
      await agent.stop();
    }), { numRuns: 25 });
  }, 180_000);
});
