import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { afterAll, describe, expect, it } from 'vitest';
import { fromHex, keyId, toHex } from '../agent/crypto/keys.js';
import { runKeysCli } from '../cli/keys.js';
import { createCollector } from '../collector/index.js';
import { verifyRecipientRotation } from '../agent/crypto/rotation.js';

const dir = mkdtempSync(join(tmpdir(), 'cli-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function keys(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runKeysCli(argv, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

describe('trust-agent keys', () => {
  it('writes the collector key pair: secret 0600, public printable and printed, a pair that opens what devices seal', async () => {
    const out = join(dir, 'one');
    const { code, out: text } = await keys(['collector', '--out', out, '--json']);
    expect(code).toBe(0);
    const summary = JSON.parse(text) as Record<string, string>;
    expect(statSync(join(out, 'collector.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(out, 'collector.pub')).mode & 0o777).toBe(0o644);
    const secret = fromHex(readFileSync(join(out, 'collector.key'), 'utf8').trim());
    const pub = readFileSync(join(out, 'collector.pub'), 'utf8').trim();
    expect(pub).toMatch(/^[0-9a-f]{64}$/);
    expect(summary['publicKey']).toBe(pub);
    expect(toHex(nacl.box.keyPair.fromSecretKey(secret).publicKey)).toBe(pub);
    expect(summary['keyId']).toBe(toHex(keyId(fromHex(pub))));
    // The collector loads the secret file as it is.
    expect(toHex(createCollector({ secretKey: secret, now: () => 0 }).publicKey)).toBe(pub);
  });

  it('never overwrites a key: exit 1, the old files unchanged', async () => {
    const out = join(dir, 'two');
    expect((await keys(['--out', out, '--name', 'c1'])).code).toBe(0);
    const before = readFileSync(join(out, 'c1.key'), 'utf8');
    const again = await keys(['--out', out, '--name', 'c1']);
    expect(again.code).toBe(1);
    expect(again.err).toContain('exists');
    expect(readFileSync(join(out, 'c1.key'), 'utf8')).toBe(before);
    writeFileSync(join(out, 'c2.pub'), 'x');
    expect((await keys(['--out', out, '--name', 'c2'])).code).toBe(1);
    expect(() => statSync(join(out, 'c2.key'))).toThrow();
  });

  it('makes the trust root and signs a collector key rotation that a device verifies', async () => {
    const out = join(dir, 'three');
    expect((await keys(['root', '--out', out])).code).toBe(0);
    expect(statSync(join(out, 'root.key')).mode & 0o777).toBe(0o600);
    expect((await keys(['collector', '--out', out, '--name', 'next'])).code).toBe(0);
    const file = join(out, 'rotation.cbor');
    const signed = await keys(['rotation', '--root', join(out, 'root.key'), '--recipient', join(out, 'next.pub'), '--serial=2', '--device', 'plug-7', '--out', file, '--json']);
    expect(signed.code).toBe(0);
    expect(JSON.parse(signed.out).topic).toBe('ta/v1/plug-7/keys/recipient');
    const rootPublic = fromHex(readFileSync(join(out, 'root.pub'), 'utf8').trim());
    const rotation = verifyRecipientRotation(new Uint8Array(readFileSync(file)), rootPublic, 'plug-7');
    expect(toHex(rotation.recipientPublicKey)).toBe(readFileSync(join(out, 'next.pub'), 'utf8').trim());
    expect(rotation.serial).toBe(2);
    expect((await keys(['rotation', '--root', join(out, 'root.key'), '--serial', '3'])).code).toBe(2);
    expect((await keys(['collector', '--serial', '3'])).err).toContain("--serial is an option of 'keys rotation'");
  });

  it('refuses unknown kinds and options (exit 2) and documents itself', async () => {
    expect((await keys(['toaster'])).code).toBe(2);
    expect((await keys(['--outt', dir])).err).toContain('unknown option --outt (did you mean --out?)');
    const help = await keys(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('mode 0600');
  });
});
