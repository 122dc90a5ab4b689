import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nacl from 'tweetnacl';
import { decodeCbor } from '../agent/codec/cbor.js';
import { isTrustError, TrustError } from '../agent/errors.js';
import { OwnerChannel } from '../agent/owner/channel.js';
import { signRequest, type RequestFields } from '../agent/owner/requests.js';
import { createCompanion, generateOwnerKeys, type Companion, type OwnerKeys } from '../companion/index.js';
import { testMqttTransport } from './helpers/mqtt-transport.js';
import { topics } from '../agent/topics.js';
import { eventually, rawClient, silentLogger, startAedes, startDevice, type BrokerHandle, type DeviceUnderTest } from './owner-support.js';

let broker: BrokerHandle;
let counter = 0;
beforeAll(async () => { broker = await startAedes(); });
afterAll(async () => { await broker.close(); });

async function pairedDevice(extra: Parameters<typeof startDevice>[2] = {}): Promise<{ device: DeviceUnderTest; companion: Companion; keys: OwnerKeys; deviceId: string }> {
  const deviceId = `dev-${process.pid}-${counter++}`;
  const device = await startDevice(broker.url, deviceId, extra);
  const keys = generateOwnerKeys();
  const companion = await createCompanion({ transport: testMqttTransport(broker.url), ownerKeys: keys, deviceId, timeoutMs: 5_000 });
  const { payload } = device.channel.openPairingWindow(60_000);
  await companion.pair(payload);
  return { device, companion, keys, deviceId };
}

function fields(deviceId: string, over: Partial<RequestFields> = {}): RequestFields {
  const now = Date.now();
  return { deviceId, clientToken: `t${counter++}`, issuedAt: now, expiresAt: now + 60_000, kind: 'set-preferences', desired: { occupancy: 'full' }, expectedVersion: 0, ...over };
}

async function rejectionOf(promise: Promise<unknown>): Promise<TrustError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TrustError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('pairing', () => {
  it('registers the owner with the one-time code, then refuses any other pairing', async () => {
    const { device, companion, keys, deviceId } = await pairedDevice();
    expect(device.channel.owner()?.keyId).toEqual(keys.keyId);
    expect(() => device.channel.openPairingWindow(60_000)).toThrow(expect.objectContaining({ code: 'ALREADY_PAIRED' }));
    const state = await companion.getState();
    expect(state.outcome).toBe('accepted');
    expect(companion.lastState()?.paired).toBe(true);
    // A restarted channel on the same storage still knows its owner.
    const again = await OwnerChannel.create({ deviceId, deviceType: 'thermostat', identity: device.identity, actions: device.actions, clock: device.clock, storage: device.storage, logger: silentLogger });
    expect(again.owner()?.keyId).toEqual(keys.keyId);
    await companion.close();
    await device.transport.close();
  });

  it('rejects a wrong setup code and closes the window after repeated failures', async () => {
    const deviceId = `dev-${process.pid}-${counter++}`;
    const device = await startDevice(broker.url, deviceId, { maxPairingAttempts: 2 });
    const { payload, setupCode } = device.channel.openPairingWindow(60_000);
    const wrong = payload.replace(/./g, (c) => c); // same payload, code swapped below
    const { decodePairingPayload, encodePairingPayload } = await import('../agent/owner/pairing.js');
    const parsed = decodePairingPayload(wrong);
    const badCode = setupCode === 'AAAAAAAA' ? 'BBBBBBBB' : 'AAAAAAAA';
    const bad = encodePairingPayload({ ...parsed, setupCode: badCode });
    const companion = await createCompanion({ transport: testMqttTransport(broker.url), ownerKeys: generateOwnerKeys(), deviceId, timeoutMs: 5_000 });
    expect((await rejectionOf(companion.pair(bad))).code).toBe('AUTH_FAILED');
    expect((await rejectionOf(companion.pair(bad))).code).toBe('AUTH_FAILED');
    // The window closed after two wrong codes: even the right code is no longer accepted (no reply at all).
    expect(device.channel.pairingWindowOpen()).toBe(false);
    expect((await rejectionOf(companion.pair(payload, { timeoutMs: 500 }))).code).toBe('TRANSPORT');
    expect(device.channel.pairingDropped).toBe(1);
    expect(device.channel.isPaired()).toBe(false);
    expect(device.actions.audits.filter((a) => a.type === 'owner-pairing-rejected')).toHaveLength(2);
    await companion.close();
    await device.transport.close();
  });

  it('never shows the setup code to a broker observer', async () => {
    const deviceId = `dev-${process.pid}-${counter++}`;
    const device = await startDevice(broker.url, deviceId);
    const observer = testMqttTransport(broker.url)({ clientId: `obs-${counter++}`, cleanSession: true });
    const seen: Uint8Array[] = [];
    observer.onMessage((m) => seen.push(m.payload));
    await observer.connect();
    await observer.subscribe(`ta/v1/${deviceId}/#`, 1);
    const { payload, setupCode } = device.channel.openPairingWindow(60_000);
    const companion = await createCompanion({ transport: testMqttTransport(broker.url), ownerKeys: generateOwnerKeys(), deviceId, timeoutMs: 5_000 });
    await companion.pair(payload);
    await eventually(() => seen.length >= 2, 'pairing traffic');
    const code = new TextEncoder().encode(setupCode);
    for (const bytes of seen) expect(Buffer.from(bytes).includes(Buffer.from(code))).toBe(false);
    await Promise.all([observer.close(), companion.close(), device.transport.close()]);
  });
});

describe('signed requests', () => {
  it('applies an owner change before replying and publishes the signed state', async () => {
    const { device, companion } = await pairedDevice();
    const states: number[] = [];
    companion.watchState((s) => states.push(s.version));
    const reply = await companion.setPreferences({ occupancy: 'full' }, { expectedVersion: 0 });
    expect(reply.version).toBe(1);
    // Enforcement happened before the reply: the actions already hold the new setting.
    expect(device.actions.prefs.occupancy).toBe('full');
    expect(reply.enforced).toEqual({ version: 1, settings: { temperature: 'minimised', occupancy: 'full', names: 'off' } });
    await eventually(() => states.includes(1), 'state version 1');
    await companion.close();
    await device.transport.close();
  });

  it('rejects replayed, expired, forged, not-owner, wrong-device and invalid requests, changing nothing', async () => {
    const { device, keys, deviceId, companion } = await pairedDevice();
    const raw = await rawClient(broker.url, deviceId, () => device.identity().signPublicKey);
    const ok = fields(deviceId);
    const okBytes = signRequest(ok, keys.signSecretKey);
    await raw.send(okBytes);
    expect((await raw.reply(ok.clientToken)).outcome).toBe('accepted');
    const before = JSON.stringify(device.actions.prefs);
    const cases: Array<[string, Uint8Array, string]> = [];
    cases.push(['REPLAY', okBytes, ok.clientToken]);
    const old = fields(deviceId, { issuedAt: Date.now() - 3_600_000, expiresAt: Date.now() - 3_000_000, expectedVersion: 1 });
    cases.push(['EXPIRED', signRequest(old, keys.signSecretKey), old.clientToken]);
    const forgedFields = fields(deviceId, { expectedVersion: 1, desired: { names: 'full' } });
    const forged = signRequest(forgedFields, keys.signSecretKey);
    forged[forged.length - 5] = (forged[forged.length - 5] ?? 0) ^ 1; // flip a signature bit
    cases.push(['BAD_SIGNATURE', forged, forgedFields.clientToken]);
    const stranger = fields(deviceId, { expectedVersion: 1, desired: { names: 'full' } });
    cases.push(['NOT_OWNER', signRequest(stranger, generateOwnerKeys().signSecretKey), stranger.clientToken]);
    const elsewhere = fields('another-device', { expectedVersion: 1, desired: { names: 'full' } });
    cases.push(['WRONG_DEVICE', signRequest(elsewhere, keys.signSecretKey), elsewhere.clientToken]);
    const invalid = fields(deviceId, { expectedVersion: 1, desired: { names: 'everything' } });
    cases.push(['INVALID_PREFERENCE', signRequest(invalid, keys.signSecretKey), invalid.clientToken]);
    const stale = fields(deviceId, { expectedVersion: 0, desired: { names: 'full' } });
    cases.push(['VERSION_CONFLICT', signRequest(stale, keys.signSecretKey), stale.clientToken]);
    for (const [code, bytes, token] of cases) {
      raw.forget(token);
      await raw.send(bytes);
      const reply = await raw.reply(token);
      expect({ code, outcome: reply.outcome, got: reply['code'] }).toEqual({ code, outcome: 'rejected', got: code });
    }
    expect((await raw.reply(invalid.clientToken))['reason']).toContain('names');
    expect((await raw.reply(stale.clientToken))['currentVersion']).toBe(1);
    // Strangers learn nothing about the device state.
    expect((await raw.reply(stranger.clientToken))['currentVersion']).toBeUndefined();
    expect(JSON.stringify(device.actions.prefs)).toBe(before);
    expect(device.actions.version).toBe(1);
    await Promise.all([raw.close(), companion.close(), device.transport.close()]);
  });

  it('drops truncated and oversized requests before parsing, counts and audits them', async () => {
    const { device, keys, deviceId, companion } = await pairedDevice();
    const raw = await rawClient(broker.url, deviceId, () => device.identity().signPublicKey);
    const good = signRequest(fields(deviceId), keys.signSecretKey);
    await raw.send(good.subarray(0, good.length - 10));
    await raw.send(new Uint8Array(9 * 1024).fill(0xa1));
    await eventually(() => device.channel.counters.dropped === 2, 'two drops');
    expect(device.channel.counters.byCode).toMatchObject({ MALFORMED: 1, OVERSIZED: 1 });
    expect(device.actions.audits.filter((a) => a.type === 'owner-request-rejected').map((a) => a.details['code'])).toEqual(['MALFORMED', 'OVERSIZED']);
    expect(device.actions.version).toBe(0);
    await Promise.all([raw.close(), companion.close(), device.transport.close()]);
  });

  it('refuses requests before pairing with NOT_PAIRED', async () => {
    const deviceId = `dev-${process.pid}-${counter++}`;
    const device = await startDevice(broker.url, deviceId);
    const raw = await rawClient(broker.url, deviceId, () => device.identity().signPublicKey);
    const request = fields(deviceId);
    await raw.send(signRequest(request, generateOwnerKeys().signSecretKey));
    expect((await raw.reply(request.clientToken))['code']).toBe('NOT_PAIRED');
    await Promise.all([raw.close(), device.transport.close()]);
  });

  it('lets one of two racing companions win; the other gets a conflict and resyncs', async () => {
    const { device, keys, deviceId, companion } = await pairedDevice();
    const second = await createCompanion({ transport: testMqttTransport(broker.url), ownerKeys: keys, deviceId, devicePublicKeys: companion.devicePublicKeys()!, timeoutMs: 5_000 });
    const results = await Promise.allSettled([
      companion.setPreferences({ occupancy: 'full' }, { expectedVersion: 0 }),
      second.setPreferences({ occupancy: 'minimised' }, { expectedVersion: 0 }),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(isTrustError(lost[0]?.reason, 'VERSION_CONFLICT')).toBe(true);
    expect((lost[0]?.reason as TrustError).cause).toMatchObject({ currentVersion: 1 });
    const loser = results[0]?.status === 'rejected' ? companion : second;
    const current = await loser.getState();
    const retried = await loser.setPreferences({ names: 'minimised' }, { expectedVersion: current.version });
    expect(retried.version).toBe(2);
    expect(device.actions.version).toBe(2);
    await Promise.all([second.close(), companion.close(), device.transport.close()]);
  });

  it('backs off a failing source without locking out the owner', async () => {
    const { device, keys, deviceId, companion } = await pairedDevice({ rateLimit: { freeFailures: 2, baseDelayMs: 60_000 } });
    const raw = await rawClient(broker.url, deviceId, () => device.identity().signPublicKey);
    const stranger = generateOwnerKeys();
    for (let i = 0; i < 6; i++) await raw.send(signRequest(fields(deviceId), stranger.signSecretKey));
    await eventually(() => device.channel.counters.rateLimited === 3, 'three rate-limited drops');
    expect(device.channel.counters.byCode.NOT_OWNER).toBe(3);
    expect(device.actions.audits.some((a) => a.type === 'owner-requests-rate-limited')).toBe(true);
    // The owner's own source is separate: its request still goes through.
    expect((await companion.setPreferences({ names: 'full' }, { expectedVersion: 0 })).version).toBe(1);
    void keys;
    await Promise.all([raw.close(), companion.close(), device.transport.close()]);
  });

  it('a source that keeps failing for hours cannot flood the audit trail; every rejection is still counted in it', async () => {
    const { device, deviceId, companion } = await pairedDevice({ rejectionAuditQuietMs: 1_200_000 });
    const raw = await rawClient(broker.url, deviceId, () => device.identity().signPublicKey);
    const stranger = generateOwnerKeys();
    const attempts = 60;
    for (let i = 0; i <= attempts; i++) {
      // Past the longest block (60 s), so every attempt is verified and refused rather than dropped in backoff;
      // the last one comes an hour after the flood.
      device.clock.offset += i === attempts ? 3_600_000 : 61_000;
      const request = fields(deviceId, { issuedAt: device.clock.now(), expiresAt: device.clock.now() + 60_000 });
      await raw.send(signRequest(request, stranger.signSecretKey));
      expect((await raw.reply(request.clientToken))['code']).toBe('NOT_OWNER');
    }
    const rejected = device.actions.audits.filter((a) => a.type === 'owner-request-rejected');
    // Five free failures, then at most one entry per 20 minutes of backoff: 61 rejections over two virtual hours.
    expect(rejected.length).toBeLessThanOrEqual(5 + 5);
    expect(rejected.reduce((sum, a) => sum + Number(a.details['count'] ?? 1), 0)).toBe(attempts + 1);
    expect(device.actions.audits.filter((a) => a.type === 'owner-requests-rate-limited')).toHaveLength(1);
    expect(device.channel.counters.byCode.NOT_OWNER).toBe(attempts + 1);
    await Promise.all([raw.close(), companion.close(), device.transport.close()]);
  });

  it('remembers nonces across a restart', async () => {
    const { device, keys, deviceId, companion } = await pairedDevice();
    const raw = await rawClient(broker.url, deviceId, () => device.identity().signPublicKey);
    const request = fields(deviceId);
    const bytes = signRequest(request, keys.signSecretKey);
    await raw.send(bytes);
    expect((await raw.reply(request.clientToken)).outcome).toBe('accepted');
    await device.transport.close();
    const restarted = await startDevice(broker.url, deviceId, {}, device.storage);
    const replayToken = request.clientToken;
    // The restarted device has new test actions (version 0), so only the nonce cache can stop the replay.
    await raw.send(bytes);
    await eventually(() => restarted.channel.counters.rejected === 1, 'replay rejected');
    expect(restarted.channel.counters.byCode.REPLAY).toBe(1);
    expect(restarted.actions.version).toBe(0);
    void replayToken;
    await Promise.all([raw.close(), companion.close(), restarted.transport.close()]);
  });
});

describe('data rights', () => {
  it('erases, exports, fetches the audit trail and transfers, each with a verified receipt', async () => {
    const { device, companion, deviceId } = await pairedDevice();
    const erased = await companion.eraseCategory('occupancy');
    expect(companion.verifyReceipt(erased.receipt!)).toMatchObject({ kind: 'erase-category', deviceId, details: { category: 'occupancy', erased: 2 } });
    expect((await rejectionOf(companion.eraseCategory('nonsense'))).code).toBe('INVALID_PREFERENCE');
    const exported = await companion.exportData();
    expect(decodeCbor(exported.data)).toMatchObject({ data: { temperature: 3, occupancy: 0 } });
    expect(exported.receipt?.details).toMatchObject({ bytes: exported.reply.export!.length });
    const all = await companion.eraseAll();
    expect(companion.verifyReceipt(all.receipt!).details).toEqual({ erased: 4 });
    const trail = await companion.fetchAuditTrail();
    expect(decodeCbor(trail)).toContain('owner-paired');
    const reset = await companion.reset();
    expect(reset.version).toBe(1);
    const oldSignKey = device.identity().signPublicKey;
    const transfer = await companion.transfer();
    // The receipt is signed with the key the owner knew, even though the device has rotated its keys.
    expect(companion.verifyReceipt(transfer.receipt!).details).toEqual({ erased: true, rotated: true });
    expect(nacl.verify(device.identity().signPublicKey, oldSignKey)).toBe(false);
    expect(device.channel.isPaired()).toBe(false);
    expect(() => device.channel.openPairingWindow(1_000)).not.toThrow();
    await Promise.all([companion.close(), device.transport.close()]);
  });
});

describe('reply bound', () => {
  it('refuses a result too large for one reply, with OVERSIZED', async () => {
    const { device, companion } = await pairedDevice({ maxReplyBytes: 400 });
    expect((await rejectionOf(companion.exportData())).code).toBe('OVERSIZED');
    expect((await companion.getState()).outcome).toBe('accepted');
    await Promise.all([companion.close(), device.transport.close()]);
  });
});

describe('offline delivery', () => {
  it('applies a request queued while the device was offline if still fresh, rejects it as expired otherwise', async () => {
    const { device, companion } = await pairedDevice({ limits: { maxSkewMs: 1_000 } });
    await device.transport.pause();
    const queued = companion.setPreferences({ names: 'minimised' }, { expectedVersion: 0 });
    await new Promise((resolve) => setTimeout(resolve, 100)); // let the broker take it while the device is away
    expect(device.channel.counters.received).toBe(0);
    await device.transport.resume();
    expect((await queued).version).toBe(1);
    expect(device.actions.prefs.names).toBe('minimised');

    await device.transport.pause();
    const late = companion.setPreferences({ names: 'full' }, { expectedVersion: 1 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    device.clock.offset = 3_600_000; // the device comes back an hour later: the 10-minute request has expired
    await device.transport.resume();
    expect((await rejectionOf(late)).code).toBe('EXPIRED');
    expect(device.actions.prefs.names).toBe('minimised');
    await Promise.all([companion.close(), device.transport.close()]);
  });
});

describe('memory broker', () => {
  it('pairs and applies a change over the in-process broker too', async () => {
    const { createMemoryBroker } = await import('../agent/adapters/memory/transport.js');
    const { memoryStorage } = await import('../agent/adapters/memory/storage.js');
    const { generateIdentity } = await import('../agent/crypto/keys.js');
    const { PreferenceActions, testClock } = await import('./owner-support.js');
    const bus = createMemoryBroker();
    const identity = generateIdentity();
    const actions = new PreferenceActions();
    const channel = await OwnerChannel.create({ deviceId: 'mem-1', deviceType: 'lock', identity: () => identity, actions, clock: testClock(), storage: memoryStorage(), logger: silentLogger });
    const deviceLink = bus.transport({ clientId: 'mem-1', cleanSession: false });
    await deviceLink.connect();
    await channel.attach(deviceLink);
    const companion = await createCompanion({ transport: bus.transport, ownerKeys: generateOwnerKeys(), deviceId: 'mem-1', timeoutMs: 5_000 });
    await companion.pair(channel.openPairingWindow(10_000).payload);
    expect((await companion.setPreferences({ names: 'full' })).version).toBe(1);
    expect(actions.prefs.names).toBe('full');
    expect(bus.retained(topics.state('mem-1'))).toBeDefined();
    await companion.close();
  });
});
