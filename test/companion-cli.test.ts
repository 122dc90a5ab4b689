import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signDocument } from '../agent/crypto/sign.js';
import { topics } from '../agent/topics.js';
import { runCompanionCli, COMPANION_USAGE } from '../companion/cli.js';
import { patchFromArgs } from '../companion/cli-args.js';
import { startAedes, startDevice, type BrokerHandle } from './owner-support.js';

let broker: BrokerHandle;
beforeAll(async () => { broker = await startAedes(); });
afterAll(async () => { await broker.close(); });

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCompanionCli(argv, { out: (t) => { out += t; }, err: (t) => { err += t; } });
  return { code, out, err };
}

describe('companion CLI', () => {
  it('documents every action it accepts', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    for (const action of ['keygen', 'pair', 'manifest', 'label', 'get', 'set', 'reset', 'consent', 'watch', 'erase', 'export', 'transfer', 'audit', 'report', 'verify-receipt']) {
      expect(COMPANION_USAGE).toContain(`\n  ${action}`);
    }
    expect((await cli(['frobnicate', '--key-file', '/nonexistent'])).code).toBe(2);
    expect((await cli(['get', '--bogus'])).code).toBe(2);
  });

  it('turns set arguments into the policy patch shape', () => {
    expect(patchFromArgs(['occupancy=full', 'occupancy.level=hourly', 'names.recipients=app,cloud', 'names.retentionMs=null'], undefined, true)).toEqual({
      categories: { occupancy: { setting: 'full', level: 'hourly' }, names: { recipients: ['app', 'cloud'], retentionMs: null } },
      manifestReviewed: true,
    });
    expect(() => patchFromArgs([], undefined, false)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('prints the privacy label and summary of a real policy manifest', async () => {
    const { engineFor } = await import('./policy-support.js');
    const { engine } = await engineFor('thermostat');
    const deviceId = `cli-label-${process.pid}`;
    const device = await startDevice(broker.url, deviceId);
    await device.transport.publish(topics.manifest(deviceId), signDocument(await engine.manifest(), device.identity().signSecretKey), { qos: 1, retain: true });
    const dir = await mkdtemp(join(tmpdir(), 'companion-label-'));
    const common = ['--broker', broker.url, '--insecure', '--key-file', join(dir, 'owner.json'), '--timeout', '5000'];
    expect((await cli(['pair', device.channel.openPairingWindow(60_000).payload, ...common])).code).toBe(0);
    const label = await cli(['label', ...common]);
    expect(label.out).toContain('PRIVACY LABEL');
    const manifest = await cli(['manifest', ...common]);
    expect(manifest.out).toContain('signature verified');
    expect(manifest.out).toContain('| data | sensitivity |');
    await device.transport.close();
  });

  it('pairs, shows the manifest, sets, erases with a verifiable receipt, exports and transfers', async () => {
    const deviceId = `cli-${process.pid}`;
    const device = await startDevice(broker.url, deviceId);
    await device.transport.publish(topics.manifest(deviceId), signDocument({ deviceType: 'thermostat', categories: [{ name: 'occupancy', purposes: ['comfort'] }] }, device.identity().signSecretKey), { qos: 1, retain: true });
    const dir = await mkdtemp(join(tmpdir(), 'companion-cli-'));
    const common = ['--broker', broker.url, '--insecure', '--key-file', join(dir, 'owner.json'), '--timeout', '5000'];
    const { payload } = device.channel.openPairingWindow(60_000);
    const paired = await cli(['pair', payload, ...common]);
    expect(paired).toMatchObject({ code: 0, err: '' });
    expect(paired.out).toContain(`Paired with ${deviceId}`);
    expect((await stat(join(dir, 'owner.json'))).mode & 0o777).toBe(0o600);

    const label = await cli(['label', ...common]);
    expect(label.out).toContain('occupancy');
    const manifest = JSON.parse((await cli(['manifest', ...common, '--json'])).out);
    expect(manifest.result).toMatchObject({ deviceType: 'thermostat' });

    const set = JSON.parse((await cli(['set', '--patch', '{"occupancy":"full"}', '--expected-version', '0', ...common, '--json'])).out);
    expect(set).toMatchObject({ ok: true, result: { version: 1, kind: 'set-preferences' } });
    expect(device.actions.prefs.occupancy).toBe('full');
    const conflict = await cli(['set', '--patch', '{"names":"full"}', '--expected-version', '0', ...common, '--json']);
    expect(conflict.code).toBe(1);
    expect(JSON.parse(conflict.out)).toMatchObject({ ok: false, code: 'VERSION_CONFLICT', currentVersion: 1 });

    const receiptFile = join(dir, 'erase.receipt');
    expect((await cli(['erase', '--category', 'occupancy', '--receipt-out', receiptFile, '--yes', ...common])).code).toBe(0);
    const verified = await cli(['verify-receipt', receiptFile, ...common]);
    expect(verified.out).toContain('Receipt signature verified');
    expect(verified.out).toContain('erase-category');
    const tampered = new Uint8Array(await readFile(receiptFile));
    tampered[tampered.length - 3] = (tampered[tampered.length - 3] ?? 0) ^ 1;
    await writeFile(receiptFile, tampered);
    expect((await cli(['verify-receipt', receiptFile, ...common])).code).toBe(1);

    const exportFile = join(dir, 'export.cbor');
    expect((await cli(['export', '--out', exportFile, ...common])).code).toBe(0);
    expect((await stat(exportFile)).mode & 0o777).toBe(0o600);
    const got = JSON.parse((await cli(['get', ...common, '--json'])).out);
    expect(got.result.enforced).toEqual({ version: 1, settings: { temperature: 'minimised', occupancy: 'full', names: 'off' } });
    const transfer = await cli(['transfer', '--yes', ...common]);
    expect(transfer.out).toContain('transfer: accepted');
    expect(device.channel.isPaired()).toBe(false);
    const after = await cli(['get', ...common, '--json', '--timeout', '300']);
    expect(JSON.parse(after.out)).toMatchObject({ ok: false });
    await device.transport.close();
  });
});
