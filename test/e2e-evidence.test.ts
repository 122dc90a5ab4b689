import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { nodeFileStorage } from '../agent/adapters/node/index.js';
import { verifyTrail } from '../agent/audit/index.js';
import type { ComplianceReport } from '../agent/audit/index.js';
import { utf8Encode } from '../agent/codec/utf8.js';
import { toHex } from '../agent/crypto/keys.js';
import { generateOwnerKeys } from '../companion/index.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../simulator/broker.js';
import {
  brokerWorld, closeStorage, containsBytes, makeAgent, pairOwner, removeTempDirs, startCollector, tempDir, until,
  type KitAgent, type World,
} from './helpers/agent-kit.js';

/** Evidence from the real agent (issue 7): the self-assessment is complete and true; the trail verifies and holds no personal values. */

let tls: EmbeddedBroker;
let plain: EmbeddedBroker;
let world: World;
let plainWorld: World;
const cleanups: Array<() => Promise<unknown> | unknown> = [];

beforeAll(async () => {
  [tls, plain] = await Promise.all([startEmbeddedBroker({ tls: true }), startEmbeddedBroker({ tls: false })]);
  world = brokerWorld(tls.url, tls.caPem);
  plainWorld = brokerWorld(plain.url, '');
});
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
  expect(world.scheduler.pending(), 'agent timers left after stop').toBe(0);
  expect(plainWorld.scheduler.pending(), 'agent timers left after stop').toBe(0);
});
afterAll(async () => {
  await world.close();
  await plainWorld.close();
  await tls.close();
  await plain.close();
  removeTempDirs();
});

async function started(w: World, deviceId: string, options: { insecure?: boolean; dir?: string } = {}): Promise<KitAgent> {
  const col = await startCollector(w);
  const kit = await makeAgent(w, {
    deviceId, recipientPublicKey: col.publicKey, ...(options.dir === undefined ? {} : { dir: options.dir }),
    ...(options.insecure === true ? { transport: w.agentTransport({ allowInsecureTransport: true }) } : {}),
  });
  col.collector.addDevice(deviceId, kit.agent.publicKeys.box);
  cleanups.push(() => closeStorage(kit.storage), () => col.close(), () => kit.agent.stop());
  await kit.agent.start();
  return kit;
}

function row(report: ComplianceReport, id: string): ComplianceReport['rows'][number] {
  const found = report.rows.find((r) => r.id === id);
  if (found === undefined) throw new Error(`row ${id} missing`);
  return found;
}

describe('self-assessment of the live agent', () => {
  it('a default paired thermostat over TLS: 14 rows, all met, and each spot-checked row matches the device', async () => {
    const kit = await started(world, 'ev-th');
    const ownerKeys = generateOwnerKeys();
    const companion = await pairOwner(world, kit, ownerKeys);
    cleanups.push(() => companion.close());
    for (let i = 0; i < 3; i++) await kit.agent.record('climate', { temperatureC: 20 + i, humidityPct: 40 });
    await kit.agent.flush();
    await companion.eraseCategory('hvac');

    const report = kit.agent.assess();
    const status = kit.agent.status();
    expect(report.rows.map((r) => r.id)).toEqual(Array.from({ length: 14 }, (_, i) => `R${i + 1}`));
    expect(report.rows.filter((r) => r.status === 'not-met')).toEqual([]);
    expect(report.mode).toBe('normal');
    expect(status.mode).toBe('normal');
    expect(row(report, 'R6').evidence).toContain('TLS = true, plaintext opt-in = false');
    expect(row(report, 'R2').evidence).toContain(`owner paired = true (key ${toHex(ownerKeys.keyId)})`);
    const stats = kit.agent.store.stats();
    expect(stats.lastSweepAt).toBeDefined();
    expect(row(report, 'R5').evidence.join('\n')).toContain(`last sweep = ${new Date(stats.lastSweepAt as number).toISOString()}`);
    expect(row(report, 'R13').evidence).toContain(`records = ${stats.records}, queued = ${stats.queued}, bytes = ${stats.bytes}`);
    expect(row(report, 'R13').evidence).toContain(`published envelopes = ${status.published.envelopes}`);
    expect(row(report, 'R11').evidence).toContain(`commands accepted = ${status.commands.accepted}`);
    expect(row(report, 'R10').evidence).toContain('signed receipts = true, receipts issued = 1');
    expect(row(report, 'R8').evidence).toContain(`manifest hash = ${kit.agent.policy.manifest().contentHash}`);
    expect(row(report, 'R8').evidence).toContain('published = true');
    expect(row(report, 'R12').evidence.join('\n')).toContain('verified = true (chain and signatures)');
    expect(row(report, 'R14').evidence.join('\n')).toMatch(/audit selfcheck: \d+ entr/);
  });

  it('an unpaired device reports degraded, saying no owner is paired', async () => {
    const kit = await started(world, 'ev-unpaired');
    const report = kit.agent.assess();
    expect(report.mode).toBe('degraded');
    expect(kit.agent.status().security.codes).toEqual(['owner-not-paired']);
    expect(row(report, 'R14')).toMatchObject({ status: 'not-met', note: expect.stringContaining('no owner is paired') });
  });

  it('an insecure-transport device reports degraded with TLS off and the opt-in, and R6 not met', async () => {
    const kit = await started(plainWorld, 'ev-plain', { insecure: true });
    const companion = await pairOwner(plainWorld, kit);
    cleanups.push(() => companion.close());
    const report = kit.agent.assess();
    expect(report.mode).toBe('degraded');
    expect(report.security.codes).toEqual(['tls-off', 'insecure-allowed']);
    expect(row(report, 'R6')).toMatchObject({ status: 'not-met' });
    expect(row(report, 'R6').evidence).toContain('TLS = false, plaintext opt-in = true');
    expect(row(report, 'R6').evidence.join('\n')).toMatch(/audit transport\.insecure: 1 entry/);
  });
});

describe('the audit trail after a session of changes', () => {
  it('verifies, holds the expected event types, and no personal values', async () => {
    const dir = tempDir('ev-trail');
    const kit = await started(world, 'ev-trail', { dir });
    const companion = await pairOwner(world, kit);
    cleanups.push(() => companion.close());
    await companion.setPreferences({ categories: { labels: { setting: 'local' }, comfort: { setting: 'full' } }, manifestReviewed: true });
    await kit.agent.record('labels', { deviceName: 'PrivateNameQuartz', roomName: 'PrivateRoomOnyx' });
    await kit.agent.record('climate', { temperatureC: 23.456, humidityPct: 37 });
    await kit.agent.record('comfort', { setting: 'away' });
    await companion.setPreferences({ categories: { comfort: { setting: 'off' } } }); // withdrawal: purge
    await companion.eraseAll();
    await kit.agent.stop();
    await closeStorage(kit.storage);

    // Reopen the same files (not started) to read the trail as stopped, with agent.stop in it.
    const again = await makeAgent(world, { deviceId: 'ev-trail', recipientPublicKey: new Uint8Array(32).fill(1), storage: nodeFileStorage(dir), dir });
    cleanups.push(() => closeStorage(again.storage), () => again.agent.stop());
    const bytes = again.agent.audit.exportTrail();
    const result = verifyTrail(bytes, again.agent.publicKeys.sign);
    expect(result.ok).toBe(true);
    const types = new Set(result.trusted.map((e) => e.type));
    for (const type of ['key.generated', 'agent.start', 'pairing', 'consent.change', 'purge', 'receipt', 'selfcheck', 'agent.stop']) {
      expect(types, type).toContain(type);
    }
    const purges = result.trusted.filter((e) => e.type === 'purge').map((e) => e.details['reason']);
    expect(purges).toEqual(expect.arrayContaining(['withdrawn', 'erase']));
    const text = JSON.stringify(result.trusted);
    for (const value of ['PrivateNameQuartz', 'PrivateRoomOnyx', '23.456', 'away']) {
      expect(text).not.toContain(value);
      expect(containsBytes(bytes, utf8Encode(value))).toBe(false);
    }
    await until(() => true, 'noop');
  });
});
