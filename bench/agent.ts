import nacl from 'tweetnacl';
import { createAgent } from '../agent/agent.js';
import { createMemoryBroker, createVirtualTime, memoryLogger, memoryStorage } from '../agent/adapters/memory/index.js';
import { nodeRandom } from '../agent/adapters/node/random.js';
import { encodeCbor } from '../agent/codec/cbor.js';
import { wireRandom } from '../agent/crypto/random.js';
import { createPolicyEngine, registryFor } from '../agent/policy/index.js';
import { newSessionId, Sealer } from '../agent/telemetry/sealer.js';
import { generateIdentity } from '../agent/crypto/keys.js';
import { measure, measureAsync, printLine, printRatio } from './harness.js';

const BATCH = 32;
const READING = { temperatureC: 21.37, humidityPct: 44 };

/**
 * The agent's publish path, everything but the network, against two floors measured in the same run:
 * - transmit path (gate + minimise + batch + seal) vs CBOR encode + box.after of the same reading: the cost of
 *   the privacy layer on what leaves the device (target 1.5x);
 * - the full durable path (also: sealed append to the store, group commit, read back, ack) vs the least any
 *   durable encrypted store-and-forward must do: the transit floor plus a CBOR encode, secretbox and append at rest.
 */
export async function runAgentBench(): Promise<void> {
  const random = nodeRandom();
  wireRandom(random);
  const collector = nacl.box.keyPair();
  const shared = nacl.box.before(collector.publicKey, nacl.box.keyPair().secretKey);
  const floor = measure('cbor encode + box.after (precomputed)', () => {
    nacl.box.after(encodeCbor({ c: 'climate', t: 1, d: READING }), nacl.randomBytes(24), shared);
  });
  await transmitPath(collector.publicKey, floor);
  await durablePath(collector.publicKey, shared, floor);
}

async function transmitPath(recipient: Uint8Array, floor: ReturnType<typeof measure>): Promise<void> {
  const time = createVirtualTime(Date.UTC(2026, 0, 1));
  const policy = await createPolicyEngine({ registry: registryFor('thermostat'), storage: memoryStorage(), clock: time, logger: memoryLogger() });
  await policy.markManifestReviewed();
  const sealer = new Sealer({ identity: generateIdentity(), deviceId: 'bench-1', recipientPublicKey: recipient, sessionId: newSessionId() });
  let at = time.now();
  let seq = 0;
  const batch: Parameters<Sealer['seal']>[1][number][] = [];
  const subject = measure(`gate + minimise + seal (batches of ${BATCH}), per reading`, () => {
    for (const output of policy.collect('climate', READING, (at += 1000))) batch.push({ ...output, id: { session: sealer.sessionHex, seq: seq++ } });
    if (batch.length === BATCH) {
      sealer.seal('telemetry', batch, at);
      batch.length = 0;
    }
  });
  printRatio('Transmit path vs bare CBOR + seal', subject, floor, 1.5);
}

async function durablePath(recipient: Uint8Array, shared: Uint8Array, floor: ReturnType<typeof measure>): Promise<void> {
  const time = createVirtualTime(Date.UTC(2026, 0, 1));
  const agent = await createAgent(
    { deviceId: 'bench-1', deviceType: 'thermostat', registry: registryFor('thermostat'), recipientPublicKey: recipient, telemetry: { maxBatch: BATCH }, store: { durability: 'group' } },
    { random: nodeRandom(), clock: time, scheduler: time, storage: memoryStorage(), transport: createMemoryBroker().transport, logger: memoryLogger() },
  );
  await agent.start();
  await agent.rights.applyPatch({ manifestReviewed: true });
  let at = time.now();
  const subject = await measureAsync(`agent.record x${BATCH} + flush, per reading`, async () => {
    for (let i = 0; i < BATCH; i++) await agent.record('climate', READING, (at += 1000));
    await agent.flush();
  }, 1500);
  subject.perOpMicros /= BATCH;
  const atRestKey = nacl.randomBytes(32);
  const disk = memoryStorage();
  const durableFloor = await measureAsync('transit floor + CBOR + secretbox + append at rest', async () => {
    for (let i = 0; i < BATCH; i++) {
      const body = encodeCbor({ c: 'climate', t: at, d: READING });
      await disk.append('floor.log', nacl.secretbox(body, nacl.randomBytes(24), atRestKey));
      nacl.box.after(encodeCbor({ c: 'climate', t: at, d: READING }), nacl.randomBytes(24), shared);
    }
    await disk.sync('floor.log');
  }, 1500);
  durableFloor.perOpMicros /= BATCH;
  printRatio('Durable path (memory storage, in-process broker) vs the durable floor', subject, durableFloor, 1.5);
  printLine('same, as a multiple of the transit-only floor', `${(subject.perOpMicros / floor.perOpMicros).toFixed(2)}x`);
  const status = agent.status();
  printLine('envelopes / readings published', `${status.published.envelopes} / ${status.published.readings}`);
  await agent.stop();
}
