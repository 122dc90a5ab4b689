import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, sep } from 'node:path';
import nacl from 'tweetnacl';
import { beforeAll, describe, expect, it } from 'vitest';
import { nodeFileStorage } from '../agent/adapters/node/index.js';
import { decodeCbor } from '../agent/codec/cbor.js';
import { utf8Encode } from '../agent/codec/utf8.js';
import { verifyTrail } from '../agent/audit/index.js';
import { signRequest } from '../agent/owner/requests.js';
import type { Transport } from '../agent/ports/index.js';
import { topics, TOPIC_ROOT } from '../agent/topics.js';
import { generateOwnerKeys, verifyReply, type AcceptedReply, type Companion, type RejectedReply } from '../companion/index.js';
import type { EmbeddedBroker } from '../simulator/broker.js';
import {
  closeStorage, containsBytes, makeAgent, pairOwner, rawFiles, startCollector, startCompanion, tempDir, until,
  type CollectorHarness, type KitAgent, type World,
  startDevice, useBrokerWorld,
} from './helpers/agent-kit.js';

/** The owner channel with the real agent over a real broker (issue 5 item 6): Aedes over TLS, Node adapters, real files. */

const shared = useBrokerWorld();
const cleanups = shared.cleanups;
let broker: EmbeddedBroker;
let world: World;
beforeAll(() => {
  ({ broker, world } = shared.current());
});

function device(deviceId: string, dir?: string): Promise<{ kit: KitAgent; col: CollectorHarness }> {
  return startDevice(world, cleanups, deviceId, dir === undefined ? {} : { dir });
}

async function paired(deviceId: string): Promise<{ kit: KitAgent; col: CollectorHarness; companion: Companion; ownerKeys: ReturnType<typeof generateOwnerKeys> }> {
  const { kit, col } = await device(deviceId);
  const ownerKeys = generateOwnerKeys();
  const companion = await pairOwner(world, kit, ownerKeys);
  cleanups.push(() => companion.close());
  return { kit, col, companion, ownerKeys };
}

/** A raw client on the command topics: publishes arbitrary bytes and collects the device's verified replies. */
async function rawCommander(kit: KitAgent): Promise<{ send(bytes: Uint8Array): Promise<void>; replies: Array<AcceptedReply | RejectedReply> }> {
  const id = kit.agent.deviceId;
  const transport: Transport = world.clientTransport()({ clientId: `raw-${Math.random().toString(36).slice(2, 8)}`, cleanSession: true });
  const replies: Array<AcceptedReply | RejectedReply> = [];
  transport.onMessage((m) => {
    try {
      replies.push(verifyReply(m.payload, kit.agent.publicKeys.sign, id));
    } catch { /* not a device reply */ }
  });
  await transport.connect();
  await transport.subscribe(`${TOPIC_ROOT}/${id}/cmd/res/+/+`, 1);
  cleanups.push(() => transport.close());
  return { send: (bytes) => transport.publish(topics.commandRequest(id), bytes, { qos: 1 }), replies };
}

function request(kit: KitAgent, signer: Uint8Array, fields: Partial<Parameters<typeof signRequest>[0]> = {}): Uint8Array {
  const now = Date.now();
  return signRequest({
    deviceId: kit.agent.deviceId, clientToken: `tok${Math.random().toString(36).slice(2, 10)}`, issuedAt: now, expiresAt: now + 60_000,
    kind: 'set-preferences', desired: { categories: { comfort: { setting: 'full' } }, manifestReviewed: true }, ...fields,
  }, signer);
}

describe('owner channel with the real agent', () => {
  it('pairs through the button and the setup code; the agent reports paired', async () => {
    const { kit } = await device('own-pair');
    expect(kit.agent.status().paired).toBe(false);
    const companion = await pairOwner(world, kit);
    cleanups.push(() => companion.close());
    expect(kit.agent.status().paired).toBe(true);
    expect(kit.agent.audit.entries().some((e) => e.type === 'pairing')).toBe(true);
  });

  it('two racing companions: one accepted, the other VERSION_CONFLICT, and it can resync and retry', async () => {
    const { kit, companion, ownerKeys } = await paired('own-race');
    const second = await startCompanion(world, 'own-race', ownerKeys, { devicePublicKeys: companion.devicePublicKeys() as NonNullable<ReturnType<Companion['devicePublicKeys']>> });
    cleanups.push(() => second.close());
    const version = (await companion.getState()).version;
    const outcomes = await Promise.allSettled([
      companion.setPreferences({ categories: { comfort: { setting: 'full' } }, manifestReviewed: true }, { expectedVersion: version }),
      second.setPreferences({ categories: { comfort: { setting: 'local' } }, manifestReviewed: true }, { expectedVersion: version }),
    ]);
    const accepted = outcomes.filter((o) => o.status === 'fulfilled');
    const rejected = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(accepted).toHaveLength(1);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]?.reason).toMatchObject({ code: 'VERSION_CONFLICT', cause: { currentVersion: version + 1 } });
    const fresh = await second.getState();
    expect(fresh.version).toBe(version + 1);
    const retried = await second.setPreferences({ categories: { comfort: { setting: 'off' } } }, { expectedVersion: fresh.version });
    expect(retried.version).toBe(version + 2);
    expect(kit.agent.status().enforced.categories['comfort']?.setting).toBe('off');
  });

  it('rejects replayed, expired, forged, truncated and oversized requests with the right reason; nothing changes', async () => {
    const { kit, ownerKeys } = await paired('own-bad');
    const raw = await rawCommander(kit);
    const valid = request(kit, ownerKeys.signSecretKey);
    await raw.send(valid);
    await until(() => raw.replies.length === 1, 'first reply');
    expect(raw.replies[0]?.outcome).toBe('accepted');
    const before = structuredClone(kit.agent.status().enforced);
    const counters = () => kit.agent.status().commands;
    const start = counters();

    const expectRejection = async (bytes: Uint8Array, code: string) => {
      const n = raw.replies.length;
      await raw.send(bytes);
      await until(() => raw.replies.length === n + 1, `${code} reply`);
      expect(raw.replies[n]).toMatchObject({ outcome: 'rejected', code });
      expect(kit.agent.status().enforced).toEqual(before);
    };
    await expectRejection(valid, 'REPLAY');
    const long = Date.now() - 3 * 3_600_000;
    await expectRejection(request(kit, ownerKeys.signSecretKey, { issuedAt: long, expiresAt: long + 60_000 }), 'EXPIRED');
    await expectRejection(request(kit, generateOwnerKeys().signSecretKey), 'NOT_OWNER');
    const forged = request(kit, ownerKeys.signSecretKey, { desired: { categories: { comfort: { setting: 'off' } } } });
    forged[forged.length - 3] = (forged[forged.length - 3] as number) ^ 0x40; // inside the signature
    await expectRejection(forged, 'BAD_SIGNATURE');
    expect(counters().rejected).toBe(start.rejected + 4);

    // Truncated and oversized: dropped unparsed, counted, no reply at all.
    const dropped = counters().dropped;
    await raw.send(valid.slice(0, valid.length - 20));
    await raw.send(new Uint8Array(9 * 1024).fill(0xa5));
    await until(() => counters().dropped === dropped + 2, 'two drops counted');
    expect(kit.agent.status().enforced).toEqual(before);
    expect(kit.agent.status().commands.accepted).toBe(start.accepted);
    // Counted first, audited right after: wait for the audit entries of the two drops.
    const rejectedCodes = () => kit.agent.audit.entries().filter((e) => e.type === 'command.rejected').map((e) => e.details['code']);
    await until(() => ['MALFORMED', 'OVERSIZED'].every((code) => rejectedCodes().includes(code)), 'drops audited');
    expect(rejectedCodes()).toEqual(expect.arrayContaining(['REPLAY', 'EXPIRED', 'NOT_OWNER', 'BAD_SIGNATURE', 'MALFORMED', 'OVERSIZED']));
  });

  it('applies a request sent while the device was offline when it reconnects, if still fresh', async () => {
    const dir = tempDir('own-offline');
    const col = await startCollector(world);
    cleanups.push(() => col.close());
    const first = await makeAgent(world, { deviceId: 'own-off', recipientPublicKey: col.publicKey, dir });
    await first.agent.start();
    const ownerKeys = generateOwnerKeys();
    const companion = await pairOwner(world, first, ownerKeys);
    cleanups.push(() => companion.close());
    const version = (await companion.getState()).version;
    await first.agent.stop();
    await closeStorage(first.storage);
    // The device is away; its persistent session keeps the QoS 1 request at the broker.
    const pending = companion.setPreferences({ categories: { comfort: { setting: 'full' } }, manifestReviewed: true }, { expectedVersion: version, timeoutMs: 8_000 });
    const raw = await rawCommander(first);
    const stale = Date.now() - 3 * 3_600_000;
    await raw.send(request(first, ownerKeys.signSecretKey, { issuedAt: stale, expiresAt: stale + 60_000 }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const second = await makeAgent(world, { deviceId: 'own-off', recipientPublicKey: col.publicKey, storage: nodeFileStorage(dir), dir });
    cleanups.push(() => closeStorage(second.storage), () => second.agent.stop());
    await second.agent.start();
    const reply = await pending;
    expect(reply.version).toBe(version + 1);
    expect(second.agent.status().enforced.categories['comfort']?.setting).toBe('full');
    await until(() => raw.replies.some((r) => r.outcome === 'rejected'), 'stale request rejected');
    expect(raw.replies.find((r) => r.outcome === 'rejected')).toMatchObject({ code: 'EXPIRED' });
    // Applied before the reply: the very next reading obeys it.
    expect(await second.agent.record('comfort', { setting: 'away' })).toEqual({ stored: 1, queued: 1 });
  });
});

describe('data rights end to end, each with a receipt the companion verifies', () => {
  it('export carries the stored records; erase-category removes one category; erase-all leaves nothing readable', async () => {
    const { kit, companion } = await paired('rights-th');
    await companion.setPreferences({ categories: { labels: { setting: 'local' } }, manifestReviewed: true });
    await kit.agent.record('labels', { deviceName: 'MarkerHallwayUnit', roomName: 'MarkerAttic' });
    await kit.agent.record('climate', { temperatureC: 19.26, humidityPct: 33 });
    await kit.agent.record('hvac', { mode: 'cool', running: false, setpointC: 23 });

    const exported = await companion.exportData();
    expect(exported.receipt).toMatchObject({ type: 'receipt', kind: 'export', deviceId: 'rights-th' });
    const body = decodeCbor(exported.data, { maxBytes: 1 << 20, maxDepth: 12 }) as { records: Array<{ category: string; data: Record<string, unknown> }> };
    expect(body.records.map((r) => r.category).sort()).toEqual(['climate', 'hvac', 'labels']);
    expect(body.records.find((r) => r.category === 'labels')?.data).toEqual({ deviceName: 'MarkerHallwayUnit', roomName: 'MarkerAttic' });

    const eraseClimate = await companion.eraseCategory('climate');
    expect(companion.verifyReceipt(eraseClimate.receipt as Uint8Array)).toMatchObject({ kind: 'erase-category', details: { category: 'climate', removed: 1 } });
    expect(await kit.agent.store.query('climate')).toHaveLength(0);
    expect(await kit.agent.store.query('hvac')).toHaveLength(1);

    const eraseAll = await companion.eraseAll();
    expect(companion.verifyReceipt(eraseAll.receipt as Uint8Array)).toMatchObject({ kind: 'erase-all', details: { removed: 2 } });
    expect(await kit.agent.store.query()).toHaveLength(0);
    expect(kit.agent.status().enforced.categories['labels']?.setting).toBe('off'); // preferences reset
    const dir = kit.dir as string;
    for (const marker of ['MarkerHallwayUnit', 'MarkerAttic']) {
      for (const file of rawFiles(dir)) expect(containsBytes(file.bytes, utf8Encode(marker)), `${marker} in ${file.path}`).toBe(false);
    }
    const trail = await companion.fetchAuditTrail();
    expect(verifyTrail(trail, kit.agent.publicKeys.sign).ok).toBe(true);
  });

  it('erase-all crypto-shreds: segment bytes put back on the flash afterwards cannot be read by the device', async () => {
    const dir = tempDir('shred');
    const col = await startCollector(world);
    cleanups.push(() => col.close());
    const first = await makeAgent(world, { deviceId: 'shred-th', recipientPublicKey: col.publicKey, dir });
    await first.agent.start();
    const companion = await pairOwner(world, first);
    cleanups.push(() => companion.close());
    for (let i = 0; i < 4; i++) await first.agent.record('climate', { temperatureC: 15 + i, humidityPct: 60 });
    const segments = rawFiles(dir).filter((f) => f.path.includes(`${sep}seg${sep}`));
    expect(segments.length).toBeGreaterThan(0);
    const reply = await companion.eraseAll();
    expect(companion.verifyReceipt(reply.receipt as Uint8Array)).toMatchObject({ kind: 'erase-all', details: { removed: 4 } });
    expect(rawFiles(dir).filter((f) => f.path.includes(`${sep}seg${sep}`))).toEqual([]);
    await first.agent.stop();
    await closeStorage(first.storage);
    // The flash still holds the old bytes (wear levelling, no secure erase): put them back and boot.
    for (const file of segments) {
      mkdirSync(dirname(file.path), { recursive: true });
      writeFileSync(file.path, file.bytes);
    }
    const second = await makeAgent(world, { deviceId: 'shred-th', recipientPublicKey: col.publicKey, storage: nodeFileStorage(dir), dir });
    cleanups.push(() => closeStorage(second.storage), () => second.agent.stop());
    expect(await second.agent.store.query()).toEqual([]);
    expect(second.agent.store.stats().records).toBe(0);
  });

  it('reset returns a verified receipt and restores the defaults', async () => {
    const { kit, companion } = await paired('reset-th');
    await companion.setPreferences({ categories: { comfort: { setting: 'full' }, climate: { setting: 'full' } }, manifestReviewed: true });
    const reply = await companion.reset();
    expect(companion.verifyReceipt(reply.receipt as Uint8Array)).toMatchObject({ kind: 'reset', deviceId: 'reset-th' });
    const categories = kit.agent.status().enforced.categories;
    expect(categories['comfort']?.setting).toBe('off');
    expect(categories['climate']?.setting).toBe('minimised');
  });

  it('transfer: new keys, the old owner cannot command, preferences reset, the collector needs the new box key', async () => {
    const { kit, col, companion } = await paired('xfer-th');
    await companion.setPreferences({ categories: { comfort: { setting: 'full' } }, manifestReviewed: true });
    for (let i = 0; i < 3; i++) await kit.agent.record('climate', { temperatureC: 18 + i, humidityPct: 50 });
    await kit.agent.flush();
    await until(() => col.readings.length === 3, 'readings before transfer');
    const oldKeys = kit.agent.publicKeys;

    const reply = await companion.transfer();
    const receipt = companion.verifyReceipt(reply.receipt as Uint8Array); // signed with the key the owner knew
    expect(receipt).toMatchObject({ kind: 'transfer' });
    expect(kit.agent.publicKeys.box).not.toEqual(oldKeys.box);
    expect(kit.agent.publicKeys.sign).not.toEqual(oldKeys.sign);
    expect(kit.agent.status().paired).toBe(false);
    expect(kit.agent.status().enforced.manifestReviewed).toBe(false);
    expect(kit.agent.status().enforced.categories['comfort']?.setting).toBe('off');
    expect(await kit.agent.store.query()).toHaveLength(0);
    await expect(companion.getState({ timeoutMs: 1_500 })).rejects.toBeDefined(); // replies would be signed by the new key, and refused
    expect(kit.agent.status().commands.rejected).toBeGreaterThanOrEqual(1);

    // New key: the collector refuses it until re-provisioned, then gets every new reading, none mistaken for a duplicate.
    await kit.agent.record('climate', { temperatureC: 30, humidityPct: 50 });
    await kit.agent.flush();
    // v2 names no key id: the collector tries the device's provisioned (old) key, and the box does not open.
    await until(() => col.collector.stats().rejected['auth-failed'] >= 1, 'new key refused at the collector');
    col.collector.addDevice('xfer-th', kit.agent.publicKeys.box);
    for (let i = 0; i < 3; i++) await kit.agent.record('climate', { temperatureC: 31 + i, humidityPct: 50 });
    await kit.agent.flush();
    await until(() => col.readings.length === 6, 'three readings under the new key');
    expect(col.data('xfer-th').slice(3).map((d) => d['temperatureC'])).toEqual([31, 32, 33]);
    expect(col.collector.stats().duplicates).toBe(0);

    // A new owner can pair; the trail verifies across the rotation.
    const next = await pairOwner(world, kit);
    cleanups.push(() => next.close());
    const trail = await next.fetchAuditTrail();
    expect(verifyTrail(trail, kit.agent.publicKeys.sign, { previousKeys: [oldKeys.sign] }).ok).toBe(true);
  });

  it('refuses commands from the old owner after transfer with NOT_PAIRED (state unchanged)', async () => {
    const { kit, ownerKeys, companion } = await paired('xfer-old');
    await companion.transfer();
    const raw = await rawCommander(kit);
    const before = structuredClone(kit.agent.status().enforced);
    await raw.send(request(kit, ownerKeys.signSecretKey));
    await until(() => raw.replies.length === 1, 'rejection signed by the new key');
    expect(raw.replies[0]).toMatchObject({ outcome: 'rejected', code: 'NOT_PAIRED' });
    expect(kit.agent.status().enforced).toEqual(before);
    void nacl;
  });
});
