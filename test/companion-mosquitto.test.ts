import { afterAll, beforeAll, expect, it } from 'vitest';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryLogger } from '../agent/adapters/memory/logger.js';
import { nodeMqttTransport } from '../agent/adapters/node/mqtt.js';
import { generateIdentity } from '../agent/crypto/keys.js';
import { OwnerChannel } from '../agent/owner/channel.js';
import { runCompanionCli } from '../companion/cli.js';
import { describeMosquitto, startMosquitto, type MosquittoBroker } from './helpers/mosquitto.js';
import { createTestPki } from './helpers/tls.js';
import { fileStorage, PreferenceActions, silentLogger, testClock } from './owner-support.js';

/** A device's owner channel on Mosquitto's MQTT/TLS listener, and a directory holding the broker's CA for the CLI. */
async function deviceOnMosquitto(broker: MosquittoBroker, deviceId: string) {
  const identity = generateIdentity();
  const actions = new PreferenceActions();
  const channel = await OwnerChannel.create({
    deviceId, deviceType: 'thermostat', identity: () => identity, actions, clock: testClock(), storage: (await fileStorage()).storage, logger: silentLogger,
  });
  const link = nodeMqttTransport({ url: broker.url, ca: broker.caPem, logger: memoryLogger() })({ clientId: deviceId, cleanSession: false });
  await link.connect();
  await channel.attach(link);
  const dir = await mkdtemp(join(tmpdir(), `companion-${deviceId}-`));
  await writeFile(join(dir, 'ca.pem'), broker.caPem);
  return { actions, channel, link, dir };
}

describeMosquitto('owner channel and companion CLI over Mosquitto with TLS', () => {
  let broker: MosquittoBroker;
  beforeAll(async () => { broker = await startMosquitto({ tls: true }); });
  afterAll(async () => { await broker?.stop(); });

  it('pairs, changes a preference and reads the signed state through the real adapter', async () => {
    const { actions, channel, link, dir } = await deviceOnMosquitto(broker, 'mosq-1');
    let out = '';
    const io = { out: (t: string) => { out += t; }, err: (t: string) => { out += t; } };
    const common = ['--broker', broker.url, '--ca', join(dir, 'ca.pem'), '--key-file', join(dir, 'owner.json'), '--timeout', '5000'];
    expect(await runCompanionCli(['pair', channel.openPairingWindow(60_000).payload, ...common], io)).toBe(0);
    expect(await runCompanionCli(['set', '--patch', '{"occupancy":"full"}', ...common, '--json'], io)).toBe(0);
    expect(actions.prefs.occupancy).toBe('full');
    out = '';
    expect(await runCompanionCli(['get', ...common, '--json'], io)).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ ok: true, result: { version: 1, enforced: { settings: { occupancy: 'full' } } } });
    // Plaintext to a TLS-only setup is refused unless asked for by name.
    out = '';
    expect(await runCompanionCli(['get', ...common.map((a) => a.replace('mqtts:', 'mqtt:')), '--json'], io)).toBe(1);
    expect(JSON.parse(out)).toMatchObject({ ok: false, code: 'INSECURE_TRANSPORT' });
    await link.close();
  });
});

describeMosquitto('the companion over Mosquitto\'s secure WebSockets listener (docs/companion.md settings)', () => {
  let broker: MosquittoBroker;
  beforeAll(async () => { broker = await startMosquitto({ tls: true, websockets: true }); });
  afterAll(async () => { await broker?.stop(); });

  it('the device on MQTT/TLS, the owner on wss://: pairs and changes a preference; the broker certificate is checked', async () => {
    const { actions, channel, link, dir } = await deviceOnMosquitto(broker, 'mosq-ws');
    const wsUrl = broker.wsUrl ?? '';
    expect(wsUrl).toMatch(/^wss:\/\//);
    let out = '';
    const io = { out: (t: string) => { out += t; }, err: (t: string) => { out += t; } };
    const common = ['--broker', wsUrl, '--ca', join(dir, 'ca.pem'), '--key-file', join(dir, 'owner.json'), '--timeout', '5000'];
    expect(await runCompanionCli(['pair', channel.openPairingWindow(60_000).payload, ...common], io), out).toBe(0);
    expect(await runCompanionCli(['set', '--patch', '{"names":"full"}', ...common, '--json'], io), out).toBe(0);
    expect(actions.prefs.names).toBe('full');
    // Another CA: the WebSocket's TLS refuses the broker, nothing is sent.
    await writeFile(join(dir, 'other-ca.pem'), createTestPki('other').caPem);
    out = '';
    const otherCa = common.map((a) => (a === join(dir, 'ca.pem') ? join(dir, 'other-ca.pem') : a));
    expect(await runCompanionCli(['get', ...otherCa, '--json'], io)).toBe(1);
    expect(JSON.parse(out)).toMatchObject({ ok: false });
    await link.close();
  });
});
