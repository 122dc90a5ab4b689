// One build for every target. The neutral core is the product for bare engines; the rest run on Node.
// Usage: node esbuild.config.mjs [--quiet]
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { copyFileSync, readFileSync, mkdirSync, rmSync } from 'node:fs';

const quiet = process.argv.includes('--quiet');
// Chunk names carry a content hash: start clean so no stale chunk is packed.
for (const dir of ['dist/chunks', 'dist/cli', 'dist/standalone']) rmSync(dir, { recursive: true, force: true });
mkdirSync('dist/web', { recursive: true });

// tweetnacl probes `require('crypto')` for a random source; on bare engines there is none and the agent wires
// the random port instead, so the module is replaced by an empty one.
const emptyCrypto = {
  name: 'empty-crypto',
  setup(b) {
    b.onResolve({ filter: /^crypto$/ }, () => ({ path: 'crypto', namespace: 'empty' }));
    b.onLoad({ filter: /.*/, namespace: 'empty' }, () => ({ contents: 'export default {}', loader: 'js' }));
  },
};

const neutral = {
  bundle: true,
  platform: 'neutral',
  format: 'esm',
  target: 'es2020',
  mainFields: ['module', 'main'],
  conditions: ['default'],
  plugins: [emptyCrypto],
  legalComments: 'none',
  logLevel: 'warning',
};

const node = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
};

// The package entries are one build with code splitting: code they share (TrustError, codecs, crypto) exists once
// in dist/chunks/, so an error thrown by one entry is the same class for another. The Node entry joins them; its
// host modules (node:*, mqtt) stay imports.
const packageEntries = {
  agent: 'agent/index.ts',
  telemetry: 'agent/telemetry/index.ts',
  evidence: 'agent/evidence.ts',
  memory: 'agent/adapters/memory/index.ts',
  registries: 'agent/registries.ts',
  companion: 'companion/index.ts',
  collector: 'collector/index.ts',
  node: 'agent/node.ts',
};

// Single-file bundles for bare engines with no module loader (QuickJS, firmware): what the size budgets measure.
const standalone = ['agent', 'telemetry', 'memory'];

await Promise.all([
  build({
    ...neutral, entryPoints: packageEntries, outdir: 'dist', splitting: true, chunkNames: 'chunks/[name]-[hash]',
    external: ['node:*', 'mqtt'], sourcemap: true,
  }),
  ...standalone.map((name) => build({ ...neutral, entryPoints: [packageEntries[name]], outfile: `dist/standalone/${name}.js`, minify: true })),
  // The CLI: each subcommand is its own chunk, imported only when that subcommand runs, so `trust-agent --help`
  // needs no dev or optional dependency (the simulator's aedes and selfsigned).
  build({
    ...node, entryPoints: { cli: 'cli/main.ts' }, outdir: 'dist', splitting: true, chunkNames: 'cli/[name]-[hash]',
    banner: { js: '#!/usr/bin/env node' },
  }),
  build({ ...node, entryPoints: ['bench/index.ts'], outfile: 'dist/bench.js' }),
  build({ ...node, entryPoints: ['fuzz/main.ts'], outfile: 'dist/fuzz.js' }),
  // The companion web app: the same neutral companion library plus mqtt.js's browser build, one static page. The
  // camera's QR reader (jsQR) is its own file, imported by the page only when a scan needs it: first load stays small.
  build({
    ...neutral, platform: 'browser', conditions: ['browser', 'import', 'default'], mainFields: ['browser', 'module', 'main'],
    entryPoints: { app: 'web/main.ts', 'qr-decoder': 'web/qr-decoder.ts' }, outdir: 'dist/web', minify: true,
    external: ['./qr-decoder.js'],
  }),
]);
for (const file of ['index.html', 'app.css']) copyFileSync(`web/${file}`, `dist/web/${file}`);

if (!quiet) {
  for (const [file, what] of [['dist/standalone/agent.js', 'the device agent, neutral'], ['dist/standalone/telemetry.js', 'the sealing core, neutral']]) {
    const bytes = readFileSync(file);
    const kb = (n) => (n / 1024).toFixed(1);
    console.log(`${file} (${what}): ${kb(bytes.length)} KB minified, ${kb(gzipSync(bytes, { level: 9 }).length)} KB gzip`);
  }
}
