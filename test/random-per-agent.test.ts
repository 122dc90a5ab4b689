import { randomFillSync } from 'node:crypto';
import nacl from 'tweetnacl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../agent/adapters/memory/index.js';
import { toHex } from '../agent/crypto/keys.js';
import type { StoragePort } from '../agent/ports/index.js';
import { generateOwnerKeys } from '../companion/index.js';
import { makeAgent, memoryWorld, type KitAgent } from './helpers/agent-kit.js';

/**
 * Issue 11 item 4: every random byte of an agent comes from its own random port. Two agents in one process with
 * different (deterministic) ports produce exactly the same bytes whatever the order they boot and work in, and
 * tweetnacl's process-wide PRNG is never touched (it throws in this file).
 */

let globalDraws = 0;
beforeAll(() => {
  nacl.setPRNG(() => {
    globalDraws++;
    throw new Error('the process-wide PRNG was used');
  });
});
afterAll(() => {
  // Later files run in their own module instances; restore anyway for hygiene.
  nacl.setPRNG((target, length) => target.set(randomFillSync(new Uint8Array(length))));
});

const recipientPublicKey = nacl.box.keyPair.fromSecretKey(new Uint8Array(32).fill(9)).publicKey;

async function snapshot(storage: StoragePort): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await storage.list('')).sort()) out[name] = toHex((await storage.read(name)) ?? new Uint8Array(0));
  return out;
}

/** One step of an agent's life that draws randomness: boot, readings (nonces, data keys), pairing code, transfer. */
type Step = (kit: KitAgent) => Promise<unknown>;
const steps: Step[] = [
  (kit) => kit.agent.start(),
  (kit) => kit.agent.record('climate', { temperatureC: 21.3, humidityPct: 40 }),
  async (kit) => kit.agent.openPairingWindow().setupCode,
  (kit) => kit.agent.record('climate', { temperatureC: 21.8, humidityPct: 41 }),
  (kit) => kit.agent.rights.transferOwnership(),
  (kit) => kit.agent.record('climate', { temperatureC: 22.1, humidityPct: 42 }),
  async (kit) => kit.agent.openPairingWindow().setupCode,
];

interface Trace {
  results: string[];
  keys: string[];
  files: Record<string, string>;
}

async function boot(name: string): Promise<{ kit: KitAgent; trace: Trace }> {
  const kit = await makeAgent(memoryWorld(), { deviceId: name, recipientPublicKey, random: seededRandom(`port-${name}`) });
  return { kit, trace: { results: [], keys: [toHex(kit.agent.publicKeys.box)], files: {} } };
}

async function step(run: { kit: KitAgent; trace: Trace }, index: number): Promise<void> {
  const result = await steps[index]!(run.kit);
  run.trace.results.push(JSON.stringify(result ?? null, (_k, v: unknown) => (v instanceof Uint8Array ? toHex(v) : v)));
  run.trace.keys.push(toHex(run.kit.agent.publicKeys.box), toHex(run.kit.agent.publicKeys.sign));
}

async function finish(run: { kit: KitAgent; trace: Trace }): Promise<Trace> {
  await run.kit.agent.stop();
  run.trace.files = await snapshot(run.kit.storage);
  return run.trace;
}

describe('per-agent randomness', () => {
  it('two agents with seeded ports: identical outputs alone, in sequence, and interleaved in either boot order', async () => {
    const alone = async (name: string): Promise<Trace> => {
      const run = await boot(name);
      for (let i = 0; i < steps.length; i++) await step(run, i);
      return finish(run);
    };
    const soloA = await alone('dev-a');
    const soloB = await alone('dev-b');
    expect(soloA.keys[0]).not.toBe(soloB.keys[0]);

    for (const order of [['dev-a', 'dev-b'], ['dev-b', 'dev-a']] as const) {
      const first = await boot(order[0]);
      const second = await boot(order[1]);
      for (let i = 0; i < steps.length; i++) {
        // Alternate who goes first at each step, so every draw of one agent sits between draws of the other.
        const [x, y] = i % 2 === 0 ? [first, second] : [second, first];
        await step(x, i);
        await step(y, i);
      }
      const traces = { [order[0]]: await finish(first), [order[1]]: await finish(second) };
      expect(traces['dev-a'], `order ${order.join(',')}`).toEqual(soloA);
      expect(traces['dev-b'], `order ${order.join(',')}`).toEqual(soloB);
    }
    expect(globalDraws).toBe(0);
  });

  it('the companion takes its randomness explicitly: owner keys from a given port, never the process-wide one', () => {
    const a = generateOwnerKeys(seededRandom('owner'));
    const b = generateOwnerKeys(seededRandom('owner'));
    expect(toHex(a.signPublicKey)).toBe(toHex(b.signPublicKey));
    expect(toHex(a.boxPublicKey)).toBe(toHex(b.boxPublicKey));
    expect(() => generateOwnerKeys({ bytes: (n) => new Uint8Array(n) })).toThrow(expect.objectContaining({ code: 'NO_ENTROPY' }));
    expect(globalDraws).toBe(0);
  });
});
