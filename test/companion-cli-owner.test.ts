import { describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCompanionCli, EXIT_NO_ANSWER } from '../companion/cli.js';
import { openLink } from '../simulator/run/link.js';
import { closeStorage, makeAgent, startCollector, tempDir, until, useBrokerWorld } from './helpers/agent-kit.js';

/** The owner's rough edges of the CLI (issue 13 item 4), against a real agent on the embedded TLS broker. */
const { cleanups, current } = useBrokerWorld();

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCompanionCli(argv, { out: (t) => { out += t; }, err: (t) => { err += t; } });
  return { code, out, err };
}

async function pairedThermostat(deviceId: string) {
  const { broker, world } = current();
  const link = await openLink(broker.url);
  const col = await startCollector(world);
  const kit = await makeAgent(world, { deviceId, recipientPublicKey: col.publicKey, transport: world.agentTransport({ url: link.url }) });
  col.collector.addDevice(deviceId, kit.agent.publicKeys.box);
  cleanups.push(() => link.close(), () => closeStorage(kit.storage), () => col.close(), () => kit.agent.stop());
  await kit.agent.start();
  const dir = tempDir('cli-owner');
  const caFile = join(dir, 'ca.pem');
  await writeFile(caFile, broker.caPem);
  const keyFile = ['--key-file', join(dir, 'owner.json'), '--timeout', '5000'];
  const paired = await cli(['pair', kit.agent.openPairingWindow().payload, '--broker', broker.url, '--ca', caFile, ...keyFile]);
  expect(paired.code, paired.err).toBe(0);
  return { kit, col, link, dir, keyFile };
}

describe('companion CLI, as an owner uses it', () => {
  it('remembers the broker and CA per device after pairing: later commands need neither', async () => {
    const { keyFile, dir } = await pairedThermostat(`cli-remember-${process.pid}`);
    expect(JSON.parse(await readFile(join(dir, 'owner.json'), 'utf8')).devices).toMatchObject({ [`cli-remember-${process.pid}`]: { broker: current().broker.url, caPem: current().broker.caPem } });
    const got = await cli(['get', ...keyFile, '--json']);
    expect(got.code, got.err + got.out).toBe(0);
    expect(JSON.parse(got.out)).toMatchObject({ ok: true, result: { kind: 'get-state' } });
  });

  it('a set before the manifest review says it is saved but not in force, and why; after the review it is in force', async () => {
    const { keyFile } = await pairedThermostat(`cli-review-${process.pid}`);
    const early = await cli(['set', 'comfort=full', ...keyFile]);
    expect(early.code).toBe(0);
    expect(early.out).toContain('NOT in force yet');
    expect(early.out).toMatch(/comfort: you chose full, the device enforces off: the manifest has not been reviewed/);
    expect(early.out).not.toContain('accepted and in force');
    const json = JSON.parse((await cli(['set', 'comfort=full', ...keyFile, '--json'])).out);
    expect(json.result.notInForce).toEqual([expect.objectContaining({ category: 'comfort', wanted: 'full', enforced: 'off' })]);
    const reviewed = await cli(['set', '--accept-manifest', 'comfort=full', ...keyFile]);
    expect(reviewed.out).toContain('set-preferences: accepted and in force');
  });

  it('destructive commands need --yes without a terminal, and say what they do (erase all resets preferences)', async () => {
    const { keyFile, kit, dir } = await pairedThermostat(`cli-yes-${process.pid}`);
    await cli(['set', '--accept-manifest', ...keyFile]);
    await kit.agent.record('climate', { temperatureC: 20, humidityPct: 40 });
    const refused = await cli(['erase', ...keyFile]);
    expect(refused.code).toBe(2);
    expect(refused.err).toContain('preferences are RESET');
    expect(refused.err).toContain('--yes');
    expect((await cli(['transfer', ...keyFile])).err).toContain('FORGETS YOU');
    // Nothing was sent: the reading is still there.
    expect((await cli(['export', '--out', join(dir, 'still.json'), ...keyFile])).code).toBe(0);
    expect(JSON.parse(await readFile(join(dir, 'still.json'), 'utf8')).records.length).toBeGreaterThan(0);
    const erased = await cli(['erase', '--yes', ...keyFile, '--json']);
    expect(erased.code, erased.err).toBe(0);
    expect(JSON.parse(erased.out).result.receipt).toMatchObject({ kind: 'erase-all' });
  });

  it('a change while the device is offline says it waits for the device and exits 3; the device applies it on reconnect', async () => {
    const { keyFile, link } = await pairedThermostat(`cli-offline-${process.pid}`);
    await cli(['set', '--accept-manifest', 'comfort=full', ...keyFile]);
    link.cut();
    const waiting = await cli(['set', 'comfort=off', ...keyFile, '--timeout', '1500']);
    expect(waiting.code).toBe(EXIT_NO_ANSWER);
    expect(waiting.err).toMatch(/sent, but the device (is offline|did not answer in time)/);
    expect(waiting.err).toContain('applies it when it reconnects');
    link.restore();
    await until(async () => {
      const got = await cli(['get', ...keyFile, '--json', '--timeout', '1000']);
      return got.code === 0 && JSON.parse(got.out).result.enforced.categories.comfort.setting === 'off';
    }, 'the queued change applied after reconnect', 20_000);
  });

  it('export --out writes what the file name says: JSON, CSV; an unknown extension is refused', async () => {
    const { keyFile, dir, kit } = await pairedThermostat(`cli-export-${process.pid}`);
    await cli(['set', '--accept-manifest', ...keyFile]);
    await kit.agent.record('climate', { temperatureC: 21.5, humidityPct: 45 });
    expect((await cli(['export', '--out', join(dir, 'export.json'), ...keyFile])).code).toBe(0);
    const doc = JSON.parse(await readFile(join(dir, 'export.json'), 'utf8'));
    expect(doc.records.some((r: { category: string }) => r.category === 'climate')).toBe(true);
    expect((await cli(['export', '--out', join(dir, 'export.csv'), ...keyFile])).code).toBe(0);
    const csv = (await readFile(join(dir, 'export.csv'), 'utf8')).split('\r\n');
    expect(csv[0]).toMatch(/^category,recordedAt,expiresAt,sent,/);
    expect(csv.some((line) => line.startsWith('climate,'))).toBe(true);
    const bad = await cli(['export', '--out', join(dir, 'export.txt'), ...keyFile]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('.json, .csv or .cbor');
  });
});
