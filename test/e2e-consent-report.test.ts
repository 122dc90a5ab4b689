import { afterEach, describe, expect, it } from 'vitest';
import { registryFor } from '../agent/policy/index.js';
import { isTrustError } from '../agent/errors.js';
import { makeAgent, memoryWorld, pairOwner, removeTempDirs, startCollector } from './helpers/agent-kit.js';

afterEach(() => removeTempDirs());

/** The companion's side of R9 (consent to widened terms) and issue 7 (fetch and verify the trail and the report). */
describe('companion: consent, report and trail against the real agent', () => {
  it('a widened category stays pending until the owner consents from the companion; junk consent changes nothing', async () => {
    const world = memoryWorld();
    const col = await startCollector(world);
    const kit = await makeAgent(world, { deviceId: 'terms-th', recipientPublicKey: col.publicKey });
    await kit.agent.start();
    const companion = await pairOwner(world, kit);
    await companion.setPreferences({ categories: { comfort: { setting: 'full' } }, manifestReviewed: true });
    const shipped = registryFor('thermostat');
    await kit.agent.rights.updateRegistry({
      ...shipped, version: shipped.version + 1,
      categories: shipped.categories.map((c) => (c.name === 'comfort' ? { ...c, recipients: [...c.recipients, 'analytics'] } : c)),
    });
    expect(kit.agent.status().enforced.categories['comfort']?.pendingConsent).toBe(true);

    const before = kit.agent.status().enforced;
    const refused = await companion.acceptTerms(['no-such-category']).catch((error: unknown) => error);
    expect(isTrustError(refused, 'INVALID_PREFERENCE')).toBe(true);
    expect(kit.agent.status().enforced).toEqual(before);

    const reply = await companion.acceptTerms(['comfort']);
    expect(reply.version).toBe(before.preferencesVersion + 1);
    expect(kit.agent.status().enforced.categories['comfort']?.pendingConsent).toBe(false);
    expect(kit.agent.audit.entries().filter((e) => e.type === 'consent.change').at(-1)?.details['action']).toBe('consent-accepted');
    await companion.close();
    await kit.agent.stop();
  });

  it('fetches the signed self-assessment and a trail that verifies against the device key', async () => {
    const world = memoryWorld();
    const col = await startCollector(world);
    const kit = await makeAgent(world, { deviceId: 'report-th', recipientPublicKey: col.publicKey });
    await kit.agent.start();
    const companion = await pairOwner(world, kit);
    await companion.setPreferences({ manifestReviewed: true });
    const report = await companion.fetchReport();
    expect(report.rows.map((row) => row.id)).toEqual(Array.from({ length: 14 }, (_, i) => `R${i + 1}`));
    expect(report.device.id).toBe('report-th');
    expect(report.mode).toBe(kit.agent.status().mode);
    const { trail, verification } = await companion.fetchVerifiedAuditTrail();
    expect(verification.ok).toBe(true);
    expect(verification.entries).toBeGreaterThan(3);
    const tampered = trail.slice();
    const middle = Math.floor(tampered.length / 2);
    tampered[middle] = (tampered[middle] ?? 0) ^ 0x01;
    const { verifyTrail } = await import('../agent/audit/verify.js');
    expect(verifyTrail(tampered, kit.agent.publicKeys.sign).ok).toBe(false);
    await companion.close();
    await kit.agent.stop();
  });
});

describe('companion CLI against the real agent over TLS', () => {
  it('pair, consent, report and audit read well and fail when they should', async () => {
    const { startEmbeddedBroker } = await import('../simulator/broker.js');
    const { brokerWorld, tempDir } = await import('./helpers/agent-kit.js');
    const { runCompanionCli } = await import('../companion/cli.js');
    const { writeFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const broker = await startEmbeddedBroker();
    const world = brokerWorld(broker.url, broker.caPem);
    try {
      const col = await startCollector(world);
      const kit = await makeAgent(world, { deviceId: 'cli-th', recipientPublicKey: col.publicKey });
      await kit.agent.start();
      const dir = tempDir('cli');
      await writeFile(join(dir, 'ca.pem'), broker.caPem);
      const common = ['--broker', broker.url, '--ca', join(dir, 'ca.pem'), '--key-file', join(dir, 'owner.json'), '--timeout', '5000'];
      const cli = async (argv: string[]) => {
        let out = '';
        const code = await runCompanionCli([...argv, ...common], { out: (t) => { out += t; }, err: (t) => { out += t; } });
        return { code, out };
      };
      expect((await cli(['pair', kit.agent.openPairingWindow().payload])).code).toBe(0);
      expect((await cli(['set', '--accept-manifest', 'comfort=full'])).code).toBe(0);

      const report = await cli(['report']);
      expect(report.code).toBe(0);
      expect(report.out).toMatch(/Self-assessment of cli-th \(thermostat\), signed by the device; mode normal/);
      expect(report.out).toMatch(/R14 +met/);
      const markdown = await cli(['report', '--markdown']);
      expect(markdown.out).toContain('| R1 |');

      const audit = await cli(['audit', '--out', join(dir, 'trail.cbor')]);
      expect(audit.code).toBe(0);
      expect(audit.out).toMatch(/verified: \d+ entries, \d+ signed checkpoints; saved to/);

      expect((await cli(['consent', 'comfort'])).code).toBe(1); // nothing pending: refused, with the reason
      const shipped = registryFor('thermostat');
      await kit.agent.rights.updateRegistry({ ...shipped, version: shipped.version + 1,
        categories: shipped.categories.map((c) => (c.name === 'comfort' ? { ...c, retentionMaxMs: c.retentionMaxMs * 2 } : c)) });
      const consent = await cli(['consent', 'comfort']);
      expect(consent.code).toBe(0);
      expect(consent.out).toContain('accept-terms: accepted');
      await kit.agent.stop();
    } finally {
      await world.close();
      await broker.close();
    }
  });
});

describe('large results travel in parts', () => {
  it('an export far larger than one reply arrives whole, checked against the signed digest', async () => {
    const world = memoryWorld();
    const col = await startCollector(world);
    const kit = await makeAgent(world, { deviceId: 'big-tr', deviceType: 'fitness-tracker', recipientPublicKey: col.publicKey });
    await kit.agent.start();
    const companion = await pairOwner(world, kit);
    await companion.setPreferences({ categories: { 'heart-rate': { setting: 'local' } }, manifestReviewed: true });
    const start = world.clock.now();
    for (let i = 0; i < 6000; i++) await kit.agent.record('heart-rate', { bpm: 60 + (i % 50) }, start + i * 1000);
    const { reply, data } = await companion.exportData({ timeoutMs: 20_000 });
    expect(reply.parts?.count).toBeGreaterThan(3);
    const { decodeCbor } = await import('../agent/codec/cbor.js');
    const exported = decodeCbor(data, { maxBytes: 64 * 1024 * 1024, maxDepth: 8 }) as { records: Array<{ category: string }> };
    expect(exported.records.filter((r) => r.category === 'heart-rate')).toHaveLength(6000);
    await companion.close();
    await kit.agent.stop();
  });

  it('parts that do not match the signed digest are refused', async () => {
    const { splitIntoParts, joinParts, decodePart } = await import('../agent/owner/parts.js');
    const blob = new Uint8Array(200_000).map((_, i) => i % 251);
    const { info, parts } = splitIntoParts(blob, 'export');
    const received = new Map(parts.map((p) => { const d = decodePart(p); return [d.index, d.body] as const; }));
    expect(joinParts(info, received)).toEqual(blob);
    const forged = new Map(received);
    forged.set(1, new Uint8Array(forged.get(1)?.length ?? 0));
    expect(() => joinParts(info, forged)).toThrow(expect.objectContaining({ code: 'AUTH_FAILED' }));
    forged.delete(2);
    expect(joinParts(info, forged)).toBeUndefined();
  });
});

describe('a signed owner request corroborates the device clock', () => {
  it('after a forward clock jump, retention keeps the old time until an authenticated request confirms the new one', async () => {
    const world = memoryWorld();
    const time = world.time;
    if (time === undefined) throw new Error('virtual time expected');
    const col = await startCollector(world);
    const kit = await makeAgent(world, { deviceId: 'clock-th', recipientPublicKey: col.publicKey });
    await kit.agent.start();
    const companion = await pairOwner(world, kit);
    time.jumpWall(6 * 3_600_000); // NTP corrects a clock that was six hours slow
    await time.advance(1_000);
    expect(kit.agent.store.trustedNow()).toBeLessThan(time.now() - 5 * 3_600_000); // a bare jump is not believed
    await companion.getState();
    expect(Math.abs(kit.agent.store.trustedNow() - time.now())).toBeLessThan(1_000);
    await companion.close();
    await kit.agent.stop();
  });
});

describe('erase one person on a shared device (R10)', () => {
  it('removes every record of that person, raw or pseudonymised across days, and keeps everyone else', async () => {
    const world = memoryWorld();
    const time = world.time;
    if (time === undefined) throw new Error('virtual time expected');
    const col = await startCollector(world);
    const kit = await makeAgent(world, { deviceId: 'shared-lock', deviceType: 'smart-lock', recipientPublicKey: col.publicKey });
    await kit.agent.start();
    const companion = await pairOwner(world, kit);
    await companion.setPreferences({ manifestReviewed: true, categories: { access: { setting: 'minimised' } } });
    const event = (userId: string, userName: string) => ({ action: 'unlock', method: 'keypad', userId, userName });
    for (let day = 0; day < 3; day++) {
      await kit.agent.record('access', event('u-alice', 'Alice'));
      await kit.agent.record('access', event('u-bob', 'Bob'));
      await time.advance(86_400_000); // pseudonyms rotate daily
    }
    await companion.setPreferences({ categories: { access: { setting: 'local' } } }); // raw ids on the device from now on
    await kit.agent.record('access', event('u-alice', 'Alice'));
    await kit.agent.record('access', event('u-bob', 'Bob'));
    const before = await kit.agent.store.query('access');
    expect(before.length).toBeGreaterThanOrEqual(2);

    const reply = await companion.eraseUser('u-alice');
    const receipt = companion.verifyReceipt(reply.receipt ?? new Uint8Array());
    const after = await kit.agent.store.query('access');
    expect(after.some((r) => r.data['userId'] === 'u-alice' || r.data['userName'] === 'Alice')).toBe(false);
    expect(after.filter((r) => r.data['userId'] === 'u-bob')).toHaveLength(1); // Bob's local record stays
    // Alice's three daily pseudonyms and her raw local record went; Bob's three pseudonymised events stayed.
    expect(before).toHaveLength(8);
    expect(after).toHaveLength(4);
    expect((receipt.details as { removed: number }).removed).toBe(before.length - after.length);
    // Neither the id nor a name reaches the audit trail.
    const trail = JSON.stringify(kit.agent.audit.entries().map((e) => e.details));
    expect(trail).not.toContain('alice');
    expect(trail).not.toContain('Alice');
    await companion.close();
    await kit.agent.stop();
  });
});
