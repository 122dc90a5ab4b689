// One build for every target. The neutral core is the product for bare engines; the rest run on Node.
// Usage: node esbuild.config.mjs [--quiet]
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { readFileSync, mkdirSync } from 'node:fs';

const quiet = process.argv.includes('--quiet');
mkdirSync('dist', { recursive: true });

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

await Promise.all([
  build({ ...neutral, entryPoints: ['agent/index.ts'], outfile: 'dist/agent.js', minify: true }),
  build({ ...neutral, entryPoints: ['agent/telemetry/index.ts'], outfile: 'dist/telemetry.js', minify: true }),
  build({ ...neutral, entryPoints: ['agent/evidence.ts'], outfile: 'dist/evidence.js', minify: true }),
  build({ ...neutral, entryPoints: ['agent/adapters/memory/index.ts'], outfile: 'dist/memory.js', minify: true }),
  build({ ...neutral, entryPoints: ['companion/index.ts'], outfile: 'dist/companion.js', minify: true }),
  build({ ...neutral, entryPoints: ['collector/index.ts'], outfile: 'dist/collector.js', minify: true }),
  build({ ...node, entryPoints: ['agent/node.ts'], outfile: 'dist/node.js' }),
  build({ ...node, entryPoints: ['cli/main.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } }),
  build({ ...node, entryPoints: ['bench/index.ts'], outfile: 'dist/bench.js' }),
]);

if (!quiet) {
  for (const [file, what] of [['dist/agent.js', 'the device agent, neutral'], ['dist/telemetry.js', 'the sealing core, neutral']]) {
    const bytes = readFileSync(file);
    const kb = (n) => (n / 1024).toFixed(1);
    console.log(`${file} (${what}): ${kb(bytes.length)} KB minified, ${kb(gzipSync(bytes, { level: 9 }).length)} KB gzip`);
  }
}
