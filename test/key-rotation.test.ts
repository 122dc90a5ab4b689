import nacl from 'tweetnacl';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { keyId, toHex, generateIdentity } from '../agent/crypto/keys.js';
import {
  decodeAnnouncements, encodeAnnouncements, signKeyAnnouncement, signRecipientRotation, verifyKeyAnnouncement, verifyRecipientRotation,
} from '../agent/crypto/rotation.js';
import { topics } from '../agent/topics.js';
import type { Transport } from '../agent/ports/index.js';
import { describeMosquitto, startMosquitto, type MosquittoBroker } from './helpers/mosquitto.js';
import {
  brokerWorld, closeStorage, makeAgent, pairOwner, removeTempDirs, startCollector, tempDir, until, type CollectorHarness, type KitAgent, type World,
} from './helpers/agent-kit.js';
import { nodeFileStorage } from '../agent/adapters/node/index.js';

/** R7 end to end: the collector's key rotated by the vendor, the device's keys rotated by a transfer; nothing lost. */

const root = nacl.sign.keyPair();

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
}

describe('rotation messages', () => {
  const next = nacl.box.keyPair().publicKey;

  it('a recipient rotation verifies against the trust root only, for its device only', () => {
    const signed = signRecipientRotation({ recipientPublicKey: next, serial: 3, issuedAt: 1000, deviceId: 'd-1' }, root.secretKey);
    expect(verifyRecipientRotation(signed, root.publicKey, 'd-1')).toMatchObject({ serial: 3, issuedAt: 1000, recipientPublicKey: next });
    expect(codeOf(() => verifyRecipientRotation(signed, nacl.sign.keyPair().publicKey, 'd-1'))).toBe('UNKNOWN_KEY');
    expect(codeOf(() => verifyRecipientRotation(signed, root.publicKey, 'd-2'))).toBe('WRONG_DEVICE');
    const tampered = signed.slice();
    tampered[20] = (tampered[20] ?? 0) ^ 1;
    expect(codeOf(() => verifyRecipientRotation(tampered, root.publicKey, 'd-1'))).toMatch(/BAD_SIGNATURE|MALFORMED/);
    expect(codeOf(() => signRecipientRotation({ recipientPublicKey: new Uint8Array(32), serial: 1, issuedAt: 0 }, root.secretKey))).toBe('WEAK_KEY');
  });

  it('a key announcement verifies against the previous signing key, and names the new keys', () => {
    const [before, after, stranger] = [generateIdentity(), generateIdentity(), generateIdentity()];
    const chain = encodeAnnouncements([signKeyAnnouncement('d-1', before, after, 5)]);
    const [announcement] = decodeAnnouncements(chain);
    expect(verifyKeyAnnouncement(announcement!, 'd-1', before.signPublicKey)).toMatchObject({ boxPublicKey: after.boxPublicKey, signPublicKey: after.signPublicKey, at: 5 });
    expect(codeOf(() => verifyKeyAnnouncement(announcement!, 'd-1', stranger.signPublicKey))).toBe('UNKNOWN_KEY');
    expect(codeOf(() => verifyKeyAnnouncement(announcement!, 'd-2', before.signPublicKey))).toBe('WRONG_DEVICE');
    expect(codeOf(() => verifyKeyAnnouncement(signKeyAnnouncement('d-1', stranger, after, 5), 'd-1', before.signPublicKey))).toBe('UNKNOWN_KEY');
  });
});

describeMosquitto('key rotation end to end over Mosquitto (TLS)', () => {
  let mosquitto: MosquittoBroker;
  let world: World;
  let vendor: Transport;
  const cleanups: Array<() => Promise<void> | void> = [];
  beforeAll(async () => {
    mosquitto = await startMosquitto({ tls: true });
    world = brokerWorld(mosquitto.url, mosquitto.caPem);
    vendor = world.clientTransport()({ clientId: 'vendor-tool', cleanSession: true });
    await vendor.connect();
  });
  afterEach(async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn();
  });
  afterAll(async () => {
    await world.close();
    await mosquitto.stop();
    removeTempDirs();
  });

  async function device(deviceId: string, col: CollectorHarness, dir = tempDir(deviceId)): Promise<KitAgent> {
    const kit = await makeAgent(world, { deviceId, dir, recipientPublicKey: col.publicKey, config: { trustRootPublicKey: root.publicKey } });
    col.collector.addDevice(deviceId, kit.agent.publicKeys.box, kit.agent.publicKeys.sign);
    cleanups.push(() => closeStorage(kit.storage), () => kit.agent.stop());
    await kit.agent.start();
    return kit;
  }

  async function send(kit: KitAgent, from: number, count: number): Promise<void> {
    for (let i = from; i < from + count; i++) await kit.agent.record('climate', { temperatureC: i, humidityPct: 40 });
  }

  const temperatures = (col: CollectorHarness, deviceId: string): number[] =>
    col.data(deviceId, 'climate').map((d) => d['temperatureC'] as number).sort((a, b) => a - b);
  const rejected = (col: CollectorHarness): number => Object.values(col.collector.stats().rejected).reduce((a, b) => a + b, 0);
  const entries = (kit: KitAgent, type: string): Array<Record<string, unknown>> =>
    kit.agent.audit.entries().filter((e) => e.type === type).map((e) => e.details);

  it('the vendor rotates the collector key: a forged rotation is refused and audited, the signed one applies, no reading lost', async () => {
    const col = await startCollector(world);
    cleanups.push(() => col.close());
    const dir = tempDir('rot-collector');
    const kit = await device('rot-collector', col, dir);
    await send(kit, 1, 3);

    // Not signed by the configured root: refused, audited, nothing changes.
    const forged = signRecipientRotation({ recipientPublicKey: nacl.box.keyPair().publicKey, serial: 9, issuedAt: Date.now() }, nacl.sign.keyPair().secretKey);
    await vendor.publish(topics.recipientKey('rot-collector'), forged, { qos: 1, retain: true });
    await until(() => entries(kit, 'key.rejected').length === 1, 'the forged rotation audited');
    expect(entries(kit, 'key.rejected')[0]).toMatchObject({ purpose: 'recipient', reason: 'not-trust-root' });
    expect(kit.agent.status().security).toBeDefined();

    // The overlap: the collector holds both keys, then the signed rotation goes out (retained, for offline devices).
    const next = nacl.box.keyPair();
    col.collector.addRecipientKey(next.secretKey);
    await send(kit, 4, 3);
    const rotation = signRecipientRotation({ recipientPublicKey: next.publicKey, serial: 1, issuedAt: Date.now() }, root.secretKey);
    await vendor.publish(topics.recipientKey('rot-collector'), rotation, { qos: 1, retain: true });
    await send(kit, 7, 3);
    await until(() => entries(kit, 'key.rotated').some((e) => e['purpose'] === 'recipient'), 'the rotation applied');
    expect(entries(kit, 'key.rotated').find((e) => e['purpose'] === 'recipient')).toMatchObject({
      keyId: toHex(keyId(next.publicKey)), previousKeyId: toHex(keyId(col.publicKey)), serial: 1,
    });
    await send(kit, 10, 2);
    await kit.agent.flush();
    await until(() => temperatures(col, 'rot-collector').length === 11, 'eleven readings across the rotation');

    // The overlap ends: the old key opens nothing any more, and the device (also after a reboot) seals to the new one.
    col.collector.retireRecipientKey(col.publicKey);
    await kit.agent.stop();
    await closeStorage(kit.storage);
    const rebooted = await makeAgent(world, { deviceId: 'rot-collector', dir, storage: nodeFileStorage(dir), recipientPublicKey: col.publicKey, config: { trustRootPublicKey: root.publicKey } });
    cleanups.push(() => closeStorage(rebooted.storage), () => rebooted.agent.stop());
    await rebooted.agent.start();
    await send(rebooted, 12, 2);
    await rebooted.agent.flush();
    await until(() => temperatures(col, 'rot-collector').length === 13, 'readings after the old key was retired');
    expect(temperatures(col, 'rot-collector')).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));
    expect(rejected(col)).toBe(0);
    const r7 = rebooted.agent.assess().rows.find((r) => r.id === 'R7');
    expect(r7?.status).toBe('met');
    expect(r7?.evidence.join('\n')).toContain('serial now 1');
    expect(r7?.evidence.join('\n')).toContain(toHex(keyId(next.publicKey)));
  });

  it('a transfer rotates the device keys: the collector follows the announcement signed by the old keys, no reading lost', async () => {
    const col = await startCollector(world);
    cleanups.push(() => col.close());
    const kit = await device('rot-device', col);
    const companion = await pairOwner(world, kit);
    cleanups.push(() => companion.close());
    await send(kit, 1, 3);
    await kit.agent.flush();
    await until(() => temperatures(col, 'rot-device').length === 3, 'readings under the first keys');
    const before = kit.agent.publicKeys;

    // Someone else announcing keys for the device: refused, nothing adopted.
    const stranger = generateIdentity();
    await vendor.publish(topics.deviceKeys('rot-device'), encodeAnnouncements([signKeyAnnouncement('rot-device', stranger, generateIdentity(), 1)]), { qos: 1, retain: false });
    await until(() => col.collector.stats().keyAnnouncements.rejected === 1, 'the forged announcement refused');

    await companion.transfer();
    expect(kit.agent.publicKeys.box).not.toEqual(before.box);
    await send(kit, 4, 3);
    await kit.agent.flush();
    await until(() => temperatures(col, 'rot-device').length === 6, 'readings under the new keys');
    expect(temperatures(col, 'rot-device')).toEqual([1, 2, 3, 4, 5, 6]);
    expect(col.collector.stats().keyAnnouncements).toEqual({ followed: 1, rejected: 1 });
    expect(rejected(col)).toBe(0);
  });
});
