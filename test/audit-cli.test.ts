import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../agent/crypto/keys.js';
import { createPolicyEngine, registryFor } from '../agent/policy/index.js';
import { AUDIT_FILE } from '../agent/audit/trail.js';
import { runAuditCli } from '../cli/audit.js';
import { deviceKeys, MapStorage, otherKeys, sampleTrail, StepClock, thermostat } from './audit-support.js';

let dir: string;
let trailFile: string;
let trailBytes: Uint8Array;

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runAuditCli(argv, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'audit-cli-'));
  trailFile = join(dir, 'trail.bin');
  const { trail, storage } = await sampleTrail(9, 4);
  trailBytes = trail.exportTrail();
  await writeFile(trailFile, trailBytes);
  await trail.close();
  await writeFile(join(dir, 'trail.log'), storage.files.get(AUDIT_FILE)!);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('trust-agent audit verify', () => {
  const key = toHex(deviceKeys.publicKey);

  it('verifies an exported trail file: exit 0 and a readable summary', async () => {
    const { code, out } = await run(['verify', trailFile, '--key', key, '--entries']);
    expect(code).toBe(0);
    expect(out).toContain('9 read, 9 verified');
    expect(out).toContain('result       OK');
    expect(out).toContain('agent.start');
  });

  it("verifies the device's own log file after close", async () => {
    expect((await run(['verify', join(dir, 'trail.log'), '--key', key])).code).toBe(0);
  });

  it('reports a tampered file as broken from the first bad entry: exit 1', async () => {
    const tampered = trailBytes.slice();
    const at = tampered.length - 200;
    tampered[at] = (tampered[at] ?? 0) ^ 0x40;
    const file = join(dir, 'tampered.bin');
    await writeFile(file, tampered);
    const { code, out } = await run(['verify', file, '--key', key]);
    expect(code).toBe(1);
    expect(out).toMatch(/BROKEN at entry \d+: (changed|corrupt|forged-checkpoint|removed|inserted|reordered)/);
    const json = JSON.parse((await run(['verify', file, '--key', key, '--json'])).out);
    expect(json.ok).toBe(false);
    expect(json.firstBreak.kind).toBeTypeOf('string');
  });

  it('--json gives the result with hex hashes', async () => {
    const { code, out } = await run(['verify', trailFile, '--key', key, '--json']);
    expect(code).toBe(0);
    const json = JSON.parse(out);
    expect(json).toMatchObject({ ok: true, entries: 9, verifiedEntries: 9 });
    expect(json.trusted[0].hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('the wrong key does not verify', async () => {
    expect((await run(['verify', trailFile, '--key', toHex(otherKeys.publicKey)])).code).toBe(1);
  });

  it('usage errors exit 2; an unreadable file exits 1', async () => {
    expect((await run(['verify', trailFile])).code).toBe(2);
    expect((await run(['verify', trailFile, '--key', 'abc'])).code).toBe(2);
    expect((await run(['frobnicate'])).code).toBe(2);
    expect((await run([])).code).toBe(2);
    expect((await run(['verify', join(dir, 'missing.bin'), '--key', key])).code).toBe(1);
  });
});

describe('trust-agent audit label and report', () => {
  it('prints the label of a manifest file as text or writes HTML', async () => {
    const logger = { debug() {}, info() {}, warn() {}, error() {} };
    const engine = await createPolicyEngine({ registry: registryFor('smart-lock'), storage: new MapStorage(), clock: new StepClock(), logger });
    const file = join(dir, 'manifest.json');
    await writeFile(file, JSON.stringify(engine.manifest()));
    const text = await run(['label', file]);
    expect(text.code).toBe(0);
    expect(text.out).toContain('PRIVACY LABEL: SMART LOCK');
    const out = join(dir, 'label.html');
    expect((await run(['label', file, '--html', '--out', out])).code).toBe(0);
    expect(await readFile(out, 'utf8')).toContain('<title>Privacy label: Smart lock</title>');
    await writeFile(join(dir, 'bad.json'), '{"x":1}');
    expect((await run(['label', join(dir, 'bad.json')])).code).toBe(1);
  });

  it('renders a self-assessment from an AssessmentInput file as Markdown or JSON', async () => {
    const { input } = await thermostat();
    const file = join(dir, 'input.json');
    await writeFile(file, JSON.stringify(input));
    const md = await run(['report', file]);
    expect(md.code).toBe(0);
    expect(md.out).toContain('| R14 | Security state and self-check | met |');
    const json = await run(['report', file, '--json']);
    expect(JSON.parse(json.out).rows).toHaveLength(14);
    expect((await run(['report', join(dir, 'missing.json')])).code).toBe(1);
  });
});
