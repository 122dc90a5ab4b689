import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// examples/ import the package by name, as a firmware team does; in the tests the names map to the sources
// (the same map as tsconfig.json's paths). The packed package itself is tested by test/package.test.ts.
const entries: Record<string, string> = {
  'iot-trust-agent': 'agent/index.ts',
  'iot-trust-agent/node': 'agent/node.ts',
  'iot-trust-agent/telemetry': 'agent/telemetry/index.ts',
  'iot-trust-agent/evidence': 'agent/evidence.ts',
  'iot-trust-agent/memory': 'agent/adapters/memory/index.ts',
  'iot-trust-agent/registries': 'agent/registries.ts',
  'iot-trust-agent/companion': 'companion/index.ts',
  'iot-trust-agent/collector': 'collector/index.ts',
};

export default defineConfig({
  resolve: {
    alias: Object.entries(entries).map(([name, file]) => ({
      find: new RegExp(`^${name.replace('/', '\\/')}$`),
      replacement: fileURLToPath(new URL(file, import.meta.url)),
    })),
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: the broker and crash suites spawn processes of their own.
    maxWorkers: 2,
  },
});
