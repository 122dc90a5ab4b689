// Cost of the collection gate (validation + preference check + minimisation) per reading, against a floor measured
// in the same run: CBOR-encoding the same raw reading, the cheapest thing the publish path does with any reading.
import nacl from 'tweetnacl';
import { encodeCbor } from '../agent/codec/cbor.js';
import type { StoragePort } from '../agent/ports/index.js';
import { createPolicyEngine, registryFor, type PolicyEngine } from '../agent/policy/index.js';
import { measure, printLine, printRatio } from './harness.js';

function memoryStorage(): StoragePort {
  const files = new Map<string, Uint8Array>();
  return {
    read: async (name) => files.get(name)?.slice(),
    writeAtomic: async (name, data) => void files.set(name, data.slice()),
    append: async (name, data) => {
      const old = files.get(name) ?? new Uint8Array(0);
      const next = new Uint8Array(old.length + data.length);
      next.set(old);
      next.set(data, old.length);
      files.set(name, next);
    },
    sync: async () => undefined,
    truncate: async (name, length) => void files.set(name, (files.get(name) ?? new Uint8Array(0)).slice(0, length)),
    remove: async (name) => void files.delete(name),
    list: async (prefix) => [...files.keys()].filter((n) => n.startsWith(prefix)).sort(),
  };
}

async function engineFor(deviceType: string): Promise<PolicyEngine> {
  const silent = { debug() {}, info() {}, warn() {}, error() {} };
  const clock = { now: () => Date.now(), monotonic: () => performance.now() };
  const engine = await createPolicyEngine({ registry: registryFor(deviceType), storage: memoryStorage(), clock, logger: silent });
  await engine.markManifestReviewed();
  return engine;
}

export async function runPolicyBench(): Promise<void> {
  const thermostat = await engineFor('thermostat');
  // Varied inputs so the JIT cannot fold the work away.
  const readings = Array.from({ length: 256 }, (_, i) => ({ temperatureC: 15 + (i % 97) * 0.113, humidityPct: 30 + (i % 41) }));
  const at = Date.UTC(2026, 0, 5);
  let i = 0;
  let sink = 0;
  const floor = measure('cbor encode of the raw reading', () => {
    sink += encodeCbor(readings[i++ & 255]).length;
  });
  const gate = measure("gate + minimise, thermostat 'climate'", () => {
    sink += thermostat.collect('climate', readings[i++ & 255], at).length;
  });
  printRatio('policy gate: cost per reading vs encoding it', gate, floor);
  // The publish path without the gate: encode the raw reading, fresh nonce, secretbox (the sealing step).
  const key = nacl.randomBytes(32);
  const seal = (data: unknown): number => nacl.secretbox(encodeCbor(data), nacl.randomBytes(24), key).length;
  const publishFloor = measure('encode + nonce + secretbox of the raw reading', () => {
    sink += seal(readings[i++ & 255]);
  });
  const publishGated = measure('gate + minimise + encode + nonce + secretbox', () => {
    const [out] = thermostat.collect('climate', readings[i++ & 255], at);
    if (out !== undefined) sink += seal(out.data);
  });
  printRatio('publish path with the policy gate (issue 3 target: <= 1.5x)', publishGated, publishFloor, 1.5);

  const lock = await engineFor('smart-lock');
  // 1024 distinct users: misses the small token cache, so every reading pays the two HMAC-SHA-512.
  const access = Array.from({ length: 1024 }, (_, k) => ({ action: 'unlock', method: 'keypad', userId: `user-${k}`, userName: 'Alex' }));
  const pseudonymised = measure("gate + minimise, smart-lock 'access' (fresh pseudonym)", () => {
    sink += lock.collect('access', access[i++ & 1023], at).length;
  });
  printRatio('policy gate with a pseudonymised field vs encoding', pseudonymised, floor);
  printLine('(sink)', String(sink % 10));
}
