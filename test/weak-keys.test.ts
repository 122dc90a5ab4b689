import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import nacl from 'tweetnacl';
import { describe, expect, it } from 'vitest';
import { memoryStorage, seededRandom } from '../agent/adapters/memory/index.js';
import { createAgent } from '../agent/agent.js';
import { registryFor } from '../agent/policy/devices/index.js';
import { fromHex, generateIdentity, toHex } from '../agent/crypto/keys.js';
import { x25519XSalsa20Poly1305 } from '../agent/crypto/suites.js';
import { assertStrongX25519, checkedBoxBefore, isWeakX25519PublicKey } from '../agent/crypto/weak-keys.js';
import { encodeCbor } from '../agent/codec/cbor.js';
import { verifyKeyAnnouncement, verifyRecipientRotation } from '../agent/crypto/rotation.js';
import { signDocument } from '../agent/crypto/sign.js';
import { decodePairingPayload, encodePairingPayload, openPairingRequest, sealPairingRequest } from '../agent/owner/pairing.js';
import { openSealed, sealForOwner } from '../agent/owner/seal.js';
import { Sealer } from '../agent/telemetry/sealer.js';
import { topics } from '../agent/topics.js';
import { createCollector } from '../collector/index.js';
import { createCompanion, decodeOwnerKeyFile, encodeOwnerKeyFile, generateOwnerKeys } from '../companion/index.js';
import { makeAgent, memoryWorld, until } from './helpers/agent-kit.js';

/** Issue 10 item 4: a low-order X25519 public key is refused wherever a key comes in (WEAK_KEY naming the place). */

const vectors = (JSON.parse(readFileSync(new URL('./vectors/x25519-small-order.json', import.meta.url), 'utf8')) as {
  points: Array<{ name: string; hex: string }>;
}).points.map((p) => ({ name: p.name, key: fromHex(p.hex) }));

const weakError = (name: string) => expect.objectContaining({ code: 'WEAK_KEY', message: expect.stringContaining(name) });

describe('the weak-key test itself', () => {
  it('knows all 14 small-order encodings, and each really gives an all-zero product with a random secret', () => {
    expect(vectors).toHaveLength(14);
    for (const { name, key } of vectors) {
      expect(nacl.scalarMult(nacl.randomBytes(32), key).every((b) => b === 0), name).toBe(true);
      expect(isWeakX25519PublicKey(key), name).toBe(true);
      expect(() => assertStrongX25519(key, 'peer key'), name).toThrow(weakError('peer key'));
      expect(() => checkedBoxBefore(key, nacl.randomBytes(32)), name).toThrow(expect.objectContaining({ code: 'WEAK_KEY' }));
    }
  });

  it('never refuses a real public key, and the checked key agreement is byte-identical to box.before', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (a, b) => {
      const theirs = nacl.box.keyPair.fromSecretKey(a).publicKey;
      expect(isWeakX25519PublicKey(theirs)).toBe(false);
      expect(toHex(checkedBoxBefore(theirs, b))).toBe(toHex(nacl.box.before(theirs, b)));
    }), { numRuns: 40 });
  });
});

describe('every way a key comes in', () => {
  it('config.recipientPublicKey: WEAK_KEY naming the parameter, nothing written', async () => {
    for (const { name, key } of vectors) {
      const storage = memoryStorage();
      const world = memoryWorld();
      const ports = { random: seededRandom('weak'), clock: world.clock, scheduler: world.scheduler, storage, logger: world.logger, transport: world.agentTransport() };
      await expect(createAgent({ deviceId: 'weak-cfg', deviceType: 'thermostat', registry: registryFor('thermostat'), recipientPublicKey: key }, ports), name)
        .rejects.toThrow(weakError('config.recipientPublicKey'));
      expect(await storage.list('')).toEqual([]);
    }
  });

  it('the suite refuses to agree a key with a low-order peer (every sealer and opener goes through it)', () => {
    for (const { key } of vectors) {
      expect(() => x25519XSalsa20Poly1305.precompute(key, nacl.randomBytes(32))).toThrow(expect.objectContaining({ code: 'WEAK_KEY' }));
      expect(() => new Sealer({
        identity: { boxSecretKey: nacl.randomBytes(32), boxKeyId: new Uint8Array(8) }, deviceId: 'd1', recipientPublicKey: key, sessionId: new Uint8Array(8),
      })).toThrow(expect.objectContaining({ code: 'WEAK_KEY' }));
    }
  });

  it('collector device registration: addDevice and the devices option refuse; a lookup returning one rejects the envelope', () => {
    const collectorKeys = nacl.box.keyPair();
    const collector = createCollector({ secretKey: collectorKeys.secretKey, now: () => 1_000 });
    for (const { name, key } of vectors) {
      expect(() => collector.addDevice('dev-1', key), name).toThrow(weakError('boxPublicKey'));
      expect(() => createCollector({ secretKey: collectorKeys.secretKey, now: () => 0, devices: [{ deviceId: 'dev-1', boxPublicKey: key }] })).toThrow(weakError('boxPublicKey'));
    }
    // A vendor database that hands back a low-order key for a sender id: the envelope is refused, nothing delivered.
    const device = nacl.box.keyPair();
    const weak = { deviceId: 'dev-2', boxPublicKey: vectors[0]!.key };
    for (const version of [1, 2] as const) {
      const sealer = new Sealer({
        identity: { boxSecretKey: device.secretKey, boxKeyId: new Uint8Array(8).fill(7) }, deviceId: 'dev-2', recipientPublicKey: collectorKeys.publicKey,
        sessionId: new Uint8Array(8).fill(1), version,
      });
      const envelope = sealer.seal('telemetry', [{ id: { session: '0101010101010101', seq: 0 }, category: 'climate', at: 1, expiresAt: 10_000_000, data: { t: 1 } }], 2);
      // v1 finds the sender by its key id (`devices` lookup), v2 by the topic's device (`deviceKeys`).
      const lookedUp = createCollector({ secretKey: collectorKeys.secretKey, now: () => 1_000, devices: () => weak, deviceKeys: () => [weak] });
      const delivered: unknown[] = [];
      lookedUp.onReading((_id, reading) => delivered.push(reading));
      expect(lookedUp.ingest(topics.telemetry('dev-2'), envelope), `v${version}`).toMatchObject({ ok: false, code: 'WEAK_KEY' });
      expect(delivered).toEqual([]);
    }
  });

  it('pairing, companion side: a pairing payload with a low-order box key is refused', () => {
    const sign = nacl.sign.keyPair();
    for (const { key } of vectors) {
      const payload = encodePairingPayload({ deviceId: 'dev-1', deviceType: 'thermostat', boxPublicKey: key, signPublicKey: sign.publicKey, setupCode: 'ABCDEFGH' });
      expect(() => decodePairingPayload(payload)).toThrow(weakError('pairing payload box key'));
    }
  });

  it('pairing, device side: a low-order ephemeral or owner box key is refused', () => {
    const device = nacl.box.keyPair();
    const owner = generateOwnerKeys();
    for (const { key } of vectors) {
      const withWeakOwner = sealPairingRequest({ deviceId: 'dev-1', boxPublicKey: device.publicKey }, { signSecretKey: owner.signSecretKey, boxPublicKey: key }, 'ABCDEFGH', 1);
      expect(() => openPairingRequest(withWeakOwner.bytes, device.secretKey)).toThrow(weakError('owner box key'));
      const forged = encodeCbor({ v: 1, e: key, n: new Uint8Array(24), c: new Uint8Array(64) });
      expect(() => openPairingRequest(forged, device.secretKey)).toThrow(weakError('pairing request ephemeral key'));
    }
  });

  it('pairing on a running agent: refused, audited with WEAK_KEY, no owner registered', async () => {
    const world = memoryWorld();
    const kit = await makeAgent(world, { deviceId: 'weak-pair', recipientPublicKey: nacl.box.keyPair().publicKey });
    await kit.agent.start();
    try {
      const { payload, setupCode } = kit.agent.openPairingWindow();
      const device = decodePairingPayload(payload);
      const owner = generateOwnerKeys();
      const { bytes } = sealPairingRequest(device, { signSecretKey: owner.signSecretKey, boxPublicKey: vectors[2]!.key }, setupCode, world.clock.now());
      const link = world.clientTransport()({ clientId: 'attacker', cleanSession: true });
      await link.connect();
      const before = kit.agent.audit.entries().length;
      await link.publish(topics.pairRequest('weak-pair'), bytes, { qos: 1 });
      await until(() => kit.agent.audit.entries().length > before, 'the rejection to be audited');
      const rejected = kit.agent.audit.entries().slice(before);
      expect(rejected.some((e) => e.details['code'] === 'WEAK_KEY')).toBe(true);
      expect(kit.agent.status().paired).toBe(false);
    } finally {
      await kit.agent.stop();
    }
  });

  it('companion: device keys from options or the key file, sealed data and sealing to a device key', async () => {
    const owner = generateOwnerKeys();
    for (const { key } of vectors) {
      const file = encodeOwnerKeyFile({ keys: owner, devices: { 'dev-1': { deviceType: 'thermostat', signPublicKey: new Uint8Array(32).fill(1), boxPublicKey: key } } });
      expect(() => decodeOwnerKeyFile(file)).toThrow(weakError('devices.dev-1.boxPublicKey'));
      expect(() => sealForOwner(new Uint8Array(4), key)).toThrow(weakError('ownerBoxPublicKey'));
      const forged = encodeCbor({ v: 1, alg: 'x25519-xsalsa20-poly1305', e: key, n: new Uint8Array(24), c: new Uint8Array(32) });
      expect(() => openSealed(forged, owner.boxSecretKey)).toThrow(weakError('sealed data ephemeral key'));
    }
    const world = memoryWorld();
    await expect(createCompanion({
      transport: world.clientTransport(), ownerKeys: owner, deviceId: 'dev-1', clock: world.clock,
      devicePublicKeys: { signPublicKey: new Uint8Array(32).fill(1), boxPublicKey: vectors[0]!.key },
    })).rejects.toThrow(weakError('devicePublicKeys.boxPublicKey'));
  });

  it('key rotation messages: a root-signed recipient rotation or a device key announcement naming a low-order key', () => {
    const root = nacl.sign.keyPair();
    const previous = generateIdentity();
    const next = generateIdentity();
    for (const { name, key } of vectors) {
      const rotation = signDocument({ v: 1, kind: 'recipient-rotation', key, serial: 2, at: 1 }, root.secretKey);
      expect(() => verifyRecipientRotation(rotation, root.publicKey, 'dev-1'), name).toThrow(weakError('rotation key'));
      const inner = signDocument({ v: 1, kind: 'device-keys', device: 'dev-1', box: key, sign: next.signPublicKey, at: 1 }, next.signSecretKey);
      const announcement = signDocument({ v: 1, kind: 'device-keys-handover', keys: inner }, previous.signSecretKey);
      expect(() => verifyKeyAnnouncement(announcement, 'dev-1', previous.signPublicKey), name).toThrow(weakError('announced box key'));
    }
  });
});

