import nacl from 'tweetnacl';
import { describe, expect, it } from 'vitest';
import { memoryStorage, seededRandom } from '../agent/adapters/memory/index.js';
import { createAgent } from '../agent/agent.js';
import { registryFor } from '../agent/policy/devices/index.js';
import { checkedRandom, entropyFault } from '../agent/crypto/random.js';
import type { Ports, RandomPort, StoragePort } from '../agent/ports/index.js';
import { memoryWorld } from './helpers/agent-kit.js';

/** Issue 10 item 4: a dead, stuck or short random port is NO_ENTROPY, loudly, and audited where a trail exists. */

const recipientPublicKey = nacl.box.keyPair().publicKey;
const fixed = nacl.randomBytes(32);

const badPorts: Array<[string, string, RandomPort]> = [
  ['all zeros', 'all-zero', { bytes: (n) => new Uint8Array(n) }],
  ['the same buffer every call', 'repeating', { bytes: (n) => fixed.slice(0, n) }],
  ['a two-byte cycle', 'repeating', { bytes: (n) => Uint8Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 0x5a : 0xa5)) }],
  ['one byte repeated', 'repeating', { bytes: (n) => new Uint8Array(n).fill(0xff) }],
  ['short reads', 'short', { bytes: (n) => nacl.randomBytes(Math.max(0, n - 1)) }],
  ['a non-array', 'short', { bytes: () => 'random' as unknown as Uint8Array }],
];

function ports(random: RandomPort, storage: StoragePort): Ports {
  const world = memoryWorld();
  return { random, clock: world.clock, scheduler: world.scheduler, storage, logger: world.logger, transport: world.agentTransport() };
}

describe('entropy health check', () => {
  it('classifies healthy and faulty draws', () => {
    for (let i = 0; i < 200; i++) expect(entropyFault(nacl.randomBytes(24), 24)).toBeUndefined();
    // One draw of a stuck port looks random; the second (compared with the first's prefix) does not.
    for (const [name, fault, port] of badPorts.filter(([n]) => !n.includes('same'))) expect(entropyFault(port.bytes(32), 32), name).toBe(fault);
    expect(entropyFault(fixed.slice(), 32)).toBeUndefined();
    expect(entropyFault(fixed.slice(), 32, fixed.slice(0, 16))).toBe('repeating');
    // Short outputs (a 5-byte setup code) are only length-checked: 5 random bytes may well repeat a byte.
    expect(entropyFault(new Uint8Array(5), 5)).toBeUndefined();
  });

  it('a checked source fails every draw from a bad port with NO_ENTROPY and reports the fault once per draw', () => {
    for (const [name, fault, port] of badPorts) {
      const seen: string[] = [];
      const source = checkedRandom(port, (found) => seen.push(found));
      expect(() => source.probe('start'), name).toThrow(expect.objectContaining({ code: 'NO_ENTROPY' }));
      expect(seen, name).toEqual([fault]);
    }
  });

  it('a factory-fresh device with a bad random port refuses to start and writes nothing', async () => {
    for (const [name, , port] of badPorts) {
      const storage = memoryStorage();
      await expect(createAgent({ deviceId: 'fresh', deviceType: 'thermostat', registry: registryFor('thermostat'), recipientPublicKey }, ports(port, storage)), name)
        .rejects.toMatchObject({ code: 'NO_ENTROPY' });
      expect(await storage.list(''), name).toEqual([]);
    }
  });

  it('a device with an identity whose random port dies: refuses to start and records entropy.failed in its trail', async () => {
    const storage = memoryStorage();
    const first = await createAgent({ deviceId: 'aged', deviceType: 'thermostat', registry: registryFor('thermostat'), recipientPublicKey }, ports(seededRandom('aged'), storage));
    await first.start();
    await first.stop();
    await expect(createAgent({ deviceId: 'aged', deviceType: 'thermostat', registry: registryFor('thermostat'), recipientPublicKey }, ports(badPorts[0]![2], storage)))
      .rejects.toMatchObject({ code: 'NO_ENTROPY' });
    const again = await createAgent({ deviceId: 'aged', deviceType: 'thermostat', registry: registryFor('thermostat'), recipientPublicKey }, ports(seededRandom('aged-2'), storage));
    const failures = again.audit.entries().filter((e) => e.type === 'entropy.failed');
    expect(failures.map((e) => e.details)).toEqual([{ reason: 'all-zero', source: 'start' }]);
  });

  it('a port that dies while running: the next key generation is NO_ENTROPY, audited, and nothing is stored', async () => {
    const inner = seededRandom('dies');
    let dead = false;
    const port: RandomPort = { bytes: (n) => (dead ? new Uint8Array(n) : inner.bytes(n)) };
    const agent = await createAgent({ deviceId: 'dies', deviceType: 'thermostat', recipientPublicKey, registry: registryFor('thermostat') }, ports(port, memoryStorage()));
    await agent.start();
    try {
      dead = true;
      await expect(agent.record('climate', { temperatureC: 20, humidityPct: 40 })).rejects.toMatchObject({ code: 'NO_ENTROPY' });
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(agent.audit.entries().filter((e) => e.type === 'entropy.failed').map((e) => e.details)).toEqual([{ reason: 'all-zero', source: 'key' }]);
      expect(agent.store.stats().records).toBe(0);
      dead = false;
      expect(await agent.record('climate', { temperatureC: 20, humidityPct: 40 })).toMatchObject({ stored: 1 });
    } finally {
      await agent.stop();
    }
  });
});
