import nacl from 'tweetnacl';
import { encodeCbor } from '../agent/codec/cbor.js';
import type { EnvelopeReading } from '../agent/codec/envelope.js';
import { nodeRandom } from '../agent/adapters/node/random.js';
import { generateIdentity, toHex } from '../agent/crypto/keys.js';
import { wireRandom } from '../agent/crypto/random.js';
import { Sealer, newSessionId } from '../agent/telemetry/sealer.js';
import { measure, printLine, printRatio, type Measurement } from './harness.js';

/**
 * Seal cost per reading against its floor (CBOR encode of the reading + box.after with a precomputed key),
 * and the bytes one reading costs on the wire, single and batched.
 */
export async function runEnvelopeBench(): Promise<void> {
  // The agent's real random source: the nonce is part of the publish path.
  wireRandom(nodeRandom());
  const recipient = nacl.box.keyPair();
  const sessionId = newSessionId();
  const sealer = new Sealer({ identity: generateIdentity(), deviceId: 'thermo-1', recipientPublicKey: recipient.publicKey, sessionId });
  const ts = 1_767_225_600_000;
  const reading = (seq: number): EnvelopeReading => ({
    id: { session: toHex(sessionId), seq },
    category: 'temperature',
    at: ts - 60_000,
    expiresAt: ts + 7 * 86_400_000,
    data: { c: 21.5, rh: 40 },
  });
  const one = [reading(12_345)];
  const wire = { s: one[0]!.id.session, q: one[0]!.id.seq, c: one[0]!.category, t: one[0]!.at, x: one[0]!.expiresAt, d: one[0]!.data };
  const shared = nacl.box.before(recipient.publicKey, nacl.box.keyPair().secretKey);
  const nonce = nacl.randomBytes(nacl.box.nonceLength);

  const [floor, subject] = interleaved(
    ['cbor encode + box.after, 1 reading', () => void nacl.box.after(encodeCbor(wire), nonce, shared)],
    ['Sealer.seal, 1 reading', () => void sealer.seal('telemetry', one, ts)],
  );
  printRatio('envelope: seal one reading (publish path minus network)', subject, floor, 1.5);
  const batch32 = Array.from({ length: 32 }, (_, i) => reading(i));
  const batched = measure('Sealer.seal, batch of 32', () => void sealer.seal('telemetry', batch32, ts), 200);
  printLine('Sealer.seal per reading, batch of 32', `${(batched.perOpMicros / 32).toFixed(2)} µs (${(batched.perOpMicros / 32 / floor.perOpMicros).toFixed(2)}x floor)`);

  // Byte figures from a fresh sealer a little into its session, so they do not depend on the loop above.
  const fresh = new Sealer({ identity: generateIdentity(), deviceId: 'thermo-1', recipientPublicKey: recipient.publicKey, sessionId, firstSeq: 1000 });
  const single = fresh.seal('telemetry', one, ts).length;
  printLine('reading alone, CBOR', `${encodeCbor(wire).length} B`);
  printLine('envelope bytes per reading, single', `${single} B`);
  for (const size of [10, 50]) {
    const batch = Array.from({ length: size }, (_, i) => reading(i));
    const bytes = fresh.seal('telemetry', batch, ts).length;
    printLine(`envelope bytes per reading, batch of ${size}`, `${(bytes / size).toFixed(1)} B (${bytes} B total)`);
  }
}

/**
 * Floor and subject measured in alternating short rounds, keeping each one's best round: on a shared machine a
 * burst of load then hits both instead of whichever happened to run during it.
 */
function interleaved(...cases: [[string, () => void], [string, () => void]]): [Measurement, Measurement] {
  const rounds = 7;
  const best = cases.map(([name]) => ({ name, perOpMicros: Infinity, ops: 0 }));
  for (let round = 0; round < rounds; round++) {
    cases.forEach(([name, fn], i) => {
      const m = measure(name, fn, 100);
      const b = best[i]!;
      b.ops += m.ops;
      b.perOpMicros = Math.min(b.perOpMicros, m.perOpMicros);
    });
  }
  return [best[0]!, best[1]!];
}
