// Test support for the policy suites: a real file-backed StoragePort in a temp directory, a settable clock and a
// logger that records messages (to check that nothing personal is logged).
import { mkdtemp, mkdir, readFile, writeFile, rename, appendFile, truncate, rm, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import nacl from 'tweetnacl';
import { afterAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import type { ClockPort, LoggerPort, StoragePort } from '../agent/ports/index.js';
import { createPolicyEngine, registryFor, type PolicyEngine, type Registry } from '../agent/policy/index.js';

nacl.setPRNG((target, length) => target.set(randomBytes(length)));

const tempDirs: string[] = [];
// Registered once per test file that imports this module (vitest isolates files).
afterAll(async () => {
  await Promise.all(tempDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

export async function tempStorage(): Promise<StoragePort & { dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'policy-test-'));
  tempDirs.push(dir);
  const path = (name: string): string => join(dir, name);
  return {
    dir,
    async read(name) {
      try {
        return new Uint8Array(await readFile(path(name)));
      } catch {
        return undefined;
      }
    },
    async writeAtomic(name, data) {
      await mkdir(dirname(path(name)), { recursive: true });
      await writeFile(path(name) + '.tmp', data);
      await rename(path(name) + '.tmp', path(name));
    },
    async append(name, data) {
      await mkdir(dirname(path(name)), { recursive: true });
      await appendFile(path(name), data);
    },
    async sync() {},
    async truncate(name, length) {
      await truncate(path(name), length);
    },
    async remove(name) {
      await rm(path(name), { force: true });
    },
    async list(prefix) {
      const all = await readdir(dir, { recursive: true });
      return all.map((n) => n.split('\\').join('/')).filter((n) => n.startsWith(prefix)).sort();
    },
  };
}

export function fixedClock(start = Date.UTC(2026, 0, 5, 8, 0, 0)): ClockPort & { t: number } {
  const clock = { t: start, now: () => clock.t, monotonic: () => clock.t };
  return clock;
}

export function recordingLogger(): LoggerPort & { lines: string[] } {
  const lines: string[] = [];
  const log = (level: string) => (message: string, fields?: object) => void lines.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
  return { lines, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

export async function engineFor(deviceType: string | Registry, storage?: StoragePort): Promise<{ engine: PolicyEngine; storage: StoragePort; clock: ClockPort & { t: number } }> {
  const store = storage ?? (await tempStorage());
  const clock = fixedClock();
  const registry = typeof deviceType === 'string' ? registryFor(deviceType) : deviceType;
  const engine = await createPolicyEngine({ registry, storage: store, clock, logger: recordingLogger() });
  return { engine, storage: store, clock };
}

/** A deep copy of a shipped registry, for building update scenarios. */
export function copyRegistry(deviceType: string): Registry {
  return structuredClone(registryFor(deviceType));
}

export const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);
export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

import fc from 'fast-check';
import type { CategoryDef, FieldDef } from '../agent/policy/index.js';

/** Random valid value for a registry field (strings at least 6 characters, so a leak is detectable). */
export function fieldArb(def: FieldDef): fc.Arbitrary<unknown> {
  switch (def.type) {
    case 'number':
      return fc.double({ min: def.min ?? -1e6, max: def.max ?? 1e6, noNaN: true, noDefaultInfinity: true });
    case 'boolean':
      return fc.boolean();
    case 'string':
      return fc.string({ minLength: 6, maxLength: Math.min(def.maxLength, 24), unit: 'grapheme-ascii' }).map((s) => `u${s}`);
    case 'enum':
      return fc.constantFrom(...def.values);
  }
}

export function readingArb(def: CategoryDef): fc.Arbitrary<Record<string, unknown>> {
  const shape: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [name, field] of Object.entries(def.fields)) shape[name] = fieldArb(field);
  return fc.record(shape) as fc.Arbitrary<Record<string, unknown>>;
}
