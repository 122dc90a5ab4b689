import { describe, expect, it } from 'vitest';
import type { StoredRecord } from '../agent/store/contract.js';
import { makeAgent, memoryWorld, startCollector, until, type KitAgent } from './helpers/agent-kit.js';

/**
 * Issue 10 item 10: a device offline for 7 virtual days, with a reboot in the middle, recording every 30 minutes in
 * two categories whose owner-set retentions (2 and 5 days) end inside the outage. After the link returns: every
 * reading still within retention arrives once, nothing past its deadline arrives or stays readable on the device.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe('seven virtual days offline', () => {
  it('nothing within retention lost, nothing past it delivered or kept', async () => {
    const world = memoryWorld();
    const time = world.time!;
    const broker = world.memoryBroker!;
    const col = await startCollector(world);
    const received: Array<{ id: string; expiresAt: number; receivedAt: number }> = [];
    col.collector.onReading((_device, reading, meta) => received.push({ id: `${reading.id.session}:${reading.id.seq}`, expiresAt: reading.expiresAt, receivedAt: meta.receivedAt }));
    const spec = { deviceId: 'week-off', recipientPublicKey: col.publicKey };
    const stored: StoredRecord[] = [];
    const boot = async (storage?: KitAgent['storage']): Promise<KitAgent> => {
      const kit = await makeAgent(world, storage === undefined ? spec : { ...spec, storage });
      col.collector.addDevice('week-off', kit.agent.publicKeys.box);
      kit.agent.onStored((records) => stored.push(...records));
      // Booting offline: start() fails (broker unreachable) and the device records on; it is retried at reconnect.
      await kit.agent.start().catch((error: unknown) => expect(error).toMatchObject({ code: 'TRANSPORT' }));
      return kit;
    };
    let kit = await boot();
    await kit.agent.rights.applyPatch({ categories: { climate: { retentionMs: 2 * DAY }, hvac: { retentionMs: 5 * DAY } } });
    broker.partition('week-off', true);
    for (let step = 0; step < 7 * 48; step++) {
      if (step === 3 * 48) {
        await kit.agent.stop(); // a reboot in the middle of the outage
        kit = await boot(kit.storage);
      }
      await kit.agent.record('climate', { temperatureC: 20 + (step % 10) / 10, humidityPct: 40 });
      await kit.agent.record('hvac', { mode: 'heat', running: step % 2 === 0, setpointC: 21 });
      await time.advance(30 * MINUTE);
    }
    expect(received).toEqual([]); // nothing got out during the outage
    broker.partition('week-off', false);
    await kit.agent.start();
    await until(async () => {
      await time.advance(200);
      return kit.agent.status().store.queued === 0;
    }, 'the queue to drain', 30_000);
    const end = time.now();
    const arrived = new Set(received.map((r) => r.id));
    expect(arrived.size).toBe(received.length); // each once
    const due = stored.filter((r) => r.transmit && r.expiresAt > end).map((r) => `${r.id.session}:${r.id.seq}`);
    expect(due.length).toBeGreaterThan(5 * 48); // climate of the last 2 days + hvac of the last 5
    expect(due.filter((id) => !arrived.has(id))).toEqual([]);
    expect(received.filter((r) => r.expiresAt <= r.receivedAt)).toEqual([]);
    expect(col.collector.stats().expiredOnArrival).toBe(0);
    // Past their deadline: neither sent nor readable on the device.
    const lapsed = new Set(stored.filter((r) => r.expiresAt <= end).map((r) => `${r.id.session}:${r.id.seq}`));
    expect(lapsed.size).toBeGreaterThan(48);
    expect(received.filter((r) => lapsed.has(r.id))).toEqual([]);
    expect((await kit.agent.store.query()).filter((r) => r.expiresAt <= time.now())).toEqual([]);
    await kit.agent.stop();
    await col.close();
  }, 120_000);
});
