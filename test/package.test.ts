import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import nacl from 'tweetnacl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeFileStorage, nodeLogger, nodeMqttTransport } from '../agent/adapters/node/index.js';
import { generateIdentity, saveIdentity, toHex } from '../agent/crypto/keys.js';
import { createCollector } from '../collector/index.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../simulator/broker.js';

/**
 * The package as a firmware team gets it (issue 11 item 2): `npm pack` (prepack builds), installed from the tarball
 * into an empty project with only registry packages, the README example type-checked under strict settings and run
 * against the embedded broker, the installed bin's --help for every command, and entries sharing one TrustError.
 */
const exec = promisify(execFile);
const repo = process.cwd();
const work = mkdtempSync(join(tmpdir(), 'ta-package-'));
const app = join(work, 'app');
const bin = join(app, 'node_modules', '.bin', 'trust-agent');
let packed: string[] = [];

async function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await exec(cmd, args, { cwd, env: { ...process.env, ...env }, timeout: 240_000, maxBuffer: 16 << 20 });
    return { code: 0, out: stdout, err: stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, out: e.stdout ?? '', err: e.stderr ?? String(error) };
  }
}

async function must(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await sh(cmd, args, cwd, env);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}):\n${r.out}\n${r.err}`);
  return r.out;
}

/** The README's first TypeScript block: the example a user copies. */
function readmeExample(): string {
  const match = /```ts\n([\s\S]*?)```/.exec(readFileSync('README.md', 'utf8'));
  if (match?.[1] === undefined) throw new Error('README.md has no ```ts example');
  return match[1];
}

beforeAll(async () => {
  // A copy of the sources (tracked and new files, no build output) so prepack builds there, not under the dist/
  // the other suites read.
  const src = join(work, 'src');
  const files = (await must('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], repo)).split('\0').filter((f) => f !== '');
  for (const file of files) {
    if (file.startsWith('dist/')) continue;
    mkdirSync(dirname(join(src, file)), { recursive: true });
    try { cpSync(file, join(src, file)); } catch { /* listed but deleted in the work tree */ }
  }
  symlinkSync(join(repo, 'node_modules'), join(src, 'node_modules'));
  const output = await must('npm', ['pack', '--pack-destination', work, '--json'], src);
  // The prepack build prints its bundle sizes first; the JSON report is the rest.
  const info = JSON.parse(output.slice(output.search(/^\[/m))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  packed = info[0]?.files.map((f) => f.path) ?? [];
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'firmware-app', private: true, type: 'module' }));
  await must('npm', ['install', join(work, info[0]?.filename ?? ''), '--no-audit', '--no-fund', '--no-package-lock', '--prefer-offline'], app);
}, 300_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('npm pack', () => {
  it('ships the built entries, the CLI, types, scenarios, LICENSE and README; no sources, tests or benches', () => {
    for (const file of ['LICENSE', 'README.md', 'package.json', 'dist/agent.js', 'dist/node.js', 'dist/cli.js', 'dist/collector.js',
      'dist/companion.js', 'dist/web/index.html', 'dist/web/app.js', 'dist/web/qr-decoder.js', 'dist/web/app.css', 'dist/types/agent/index.d.ts', 'dist/types/agent/node.d.ts', 'simulator/scenarios/default.json']) {
      expect(packed).toContain(file);
    }
    expect(packed.some((f) => f.startsWith('dist/chunks/'))).toBe(true);
    expect(packed.filter((f) => /(^|\/)(test|bench)\/|bench\.js|\.test\.|\.map$|^agent\/|^dist\/standalone/.test(f))).toEqual([]);
    expect(readFileSync(join(app, 'node_modules/iot-trust-agent/LICENSE'), 'utf8')).toContain('Apache License');
  });

  it('imports at load time only node built-ins and declared dependencies; optional peers only through import()', () => {
    const root = join(app, 'node_modules/iot-trust-agent');
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>; peerDependencies: Record<string, string>; peerDependenciesMeta: Record<string, { optional?: boolean }>;
    };
    const optional = Object.keys(manifest.peerDependencies).filter((name) => manifest.peerDependenciesMeta[name]?.optional === true);
    const packageName = (spec: string): string => spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/');
    for (const file of packed.filter((f) => f.endsWith('.js'))) {
      const text = readFileSync(join(root, file), 'utf8');
      const staticImports = [...text.matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s*["']([^"'.][^"']*)["']|^\s*import\s*["']([^"'.][^"']*)["']/gm)].map((m) => m[1] ?? m[2] ?? '');
      const dynamicImports = [...text.matchAll(/\bimport\(\s*["']([^"'.][^"']*)["']\s*\)/g)].map((m) => m[1] ?? '');
      for (const spec of staticImports.filter((x) => !x.startsWith('node:'))) expect(Object.keys(manifest.dependencies), `${file} imports ${spec}`).toContain(packageName(spec));
      for (const spec of dynamicImports.filter((x) => !x.startsWith('node:'))) {
        expect([...Object.keys(manifest.dependencies), ...optional], `${file} loads ${spec}`).toContain(packageName(spec));
      }
    }
    expect(optional.sort()).toEqual(['aedes', 'selfsigned', 'ws']);
  });

  it('installs with its declared dependencies only (the optional simulator packages are not pulled in)', () => {
    const installed = readdirSync(join(app, 'node_modules'));
    expect(installed).toEqual(expect.arrayContaining(['iot-trust-agent', 'mqtt', 'tweetnacl', 'cbor-x']));
    expect(installed).not.toContain('aedes');
    expect(installed).not.toContain('selfsigned');
  });
});

describe('the installed bin', () => {
  it.each([[[]], [['simulate']], [['companion']], [['audit']], [['keys']]])('trust-agent %j --help exits 0 with its usage', async (command) => {
    const r = await sh(bin, [...command, '--help'], app);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^trust-agent /);
  });

  it('trust-agent simulate without the optional packages names the package to install', async () => {
    const r = await sh(bin, ['simulate', '--quiet', '--out', join(work, 'sim')], app);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain("optional package 'aedes'");
    expect(r.err).toContain('npm install aedes');
  });

  it('trust-agent keys makes a collector key pair in the project', async () => {
    const out = await must(bin, ['keys', '--out', join(app, 'keys'), '--json'], app);
    expect(JSON.parse(out).publicKey).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('the installed entries', () => {
  it('share one TrustError: an error thrown through one entry passes isTrustError from another', async () => {
    const script = `
      import { isTrustError } from 'iot-trust-agent';
      import { isTrustError as fromNode } from 'iot-trust-agent/node';
      import { createCollector } from 'iot-trust-agent/collector';
      import { decodePairingPayload } from 'iot-trust-agent/companion';
      const errors = [];
      try { createCollector({ secretKey: new Uint8Array(3), now: () => 0 }); } catch (e) { errors.push(e); }
      try { decodePairingPayload('not a payload'); } catch (e) { errors.push(e); }
      console.log(JSON.stringify(errors.map((e) => [isTrustError(e), fromNode(e), e.code])));`;
    writeFileSync(join(app, 'entries.mjs'), script);
    const result = JSON.parse(await must(process.execPath, ['entries.mjs'], app)) as Array<[boolean, boolean, string]>;
    expect(result).toHaveLength(2);
    for (const [a, b, code] of result) expect([a, b, typeof code]).toEqual([true, true, 'string']);
  });
});

describe('the README example', () => {
  let broker: EmbeddedBroker;
  beforeAll(async () => {
    broker = await startEmbeddedBroker({ tls: true });
  });
  afterAll(() => broker.close());

  it('type-checks under strict settings against the installed types, and runs against the embedded broker', async () => {
    writeFileSync(join(app, 'example.ts'), readmeExample());
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noUncheckedIndexedAccess: true,
        exactOptionalPropertyTypes: true, verbatimModuleSyntax: true, skipLibCheck: true, outDir: 'build',
        types: ['node'], typeRoots: [resolve(repo, 'node_modules/@types')],
      },
      files: ['example.ts'],
    }));
    await must(process.execPath, [resolve(repo, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], app);

    const keys = nacl.box.keyPair();
    writeFileSync(join(app, 'collector.pub'), `${toHex(keys.publicKey)}\n`);
    writeFileSync(join(app, 'broker-ca.pem'), broker.caPem);
    // Factory provisioning: the device identity is made before first boot and its public key given to the collector.
    const identity = generateIdentity();
    const storage = nodeFileStorage(join(app, 'data'));
    await saveIdentity(storage, identity);
    await storage.close();
    const collector = createCollector({ secretKey: keys.secretKey, now: () => Date.now(), devices: [{ deviceId: 'thermo-1', boxPublicKey: identity.boxPublicKey }] });
    const received: unknown[] = [];
    collector.onReading((_device, reading) => received.push(reading.data));
    const link = nodeMqttTransport({ url: broker.url, ca: broker.caPem, logger: nodeLogger({ level: 'error' }) })({ clientId: 'readme-collector', cleanSession: false });
    await link.connect();
    await collector.attach(link);
    try {
      await must(process.execPath, ['build/example.js'], app, { TA_BROKER: broker.url, TA_DATA_DIR: join(app, 'data') });
      for (let i = 0; i < 200 && received.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
      expect(received).toEqual([{ temperatureC: 21.5, humidityPct: 45 }]);
      expect(Object.values(collector.stats().rejected).reduce((a, b) => a + b, 0)).toBe(0);
    } finally {
      await link.close();
    }
  });
});
