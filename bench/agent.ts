import nacl from 'tweetnacl';
import { createAgent } from '../agent/agent.js';
import { createMemoryBroker, createVirtualTime, memoryLogger, memoryStorage, seededRandom } from '../agent/adapters/memory/index.js';
import { encodeCbor } from '../agent/codec/cbor.js';
import { nodeRandom } from '../agent/adapters/node/random.js';
import { measure, measureAsync, printLine, printRatio } from './harness.js';

const BATCH = 32;

/**
 * The agent's publish path, everything but the network: gate + minimise, durable append (sealed at rest), queue,
 * batch, envelope seal, and hand-off to an in-process broker. The floor is what any sealed telemetry must cost:
 * CBOR encode plus box.after (precomputed key) of the same reading.
 */
export async function runAgentBench(): Promise<void> {
  const collector = nacl.box.keyPair();
  const time = createVirtualTime(Date.UTC(2026, 0, 1));
  const broker = createMemoryBroker();
  const agent = await createAgent(
    { deviceId: 'bench-1', deviceType: 'thermostat', recipientPublicKey: collector.publicKey, telemetry: { maxBatch: BATCH }, store: { durability: 'group', groupCommitMs: 0 } },
    { random: seededRandom('bench'), clock: time, scheduler: time, storage: memoryStorage(), transport: broker.transport, logger: memoryLogger() },
  );
  await agent.start();
  await agent.rights.applyPatch({ manifestReviewed: true });
  const reading = { temperatureC: 21.37, humidityPct: 44 };
  let at = time.now();

  const subject = await measureAsync(`agent.record x${BATCH} + flush, per reading`, async () => {
    for (let i = 0; i < BATCH; i++) await agent.record('climate', reading, (at += 1000));
    await agent.flush();
  }, 1500);
  subject.perOpMicros /= BATCH;

  const shared = nacl.box.before(collector.publicKey, nacl.box.keyPair().secretKey);
  const random = nodeRandom();
  const floor = measure('cbor encode + box.after (precomputed)', () => {
    nacl.box.after(encodeCbor({ c: 'climate', t: at, d: reading }), random.bytes(24), shared);
  });
  printRatio('Agent publish path (memory storage, in-process broker) vs bare CBOR + seal', subject, floor, 1.5);
  const status = agent.status();
  printLine('envelopes / readings published', `${status.published.envelopes} / ${status.published.readings}`);
  await agent.stop();
}
