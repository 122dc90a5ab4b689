import nacl from 'tweetnacl';
import { memoryStorage } from '../agent/adapters/memory/storage.js';
import { nodeRandom } from '../agent/adapters/node/random.js';
import { systemClock } from '../agent/adapters/node/clock.js';
import { generateIdentity } from '../agent/crypto/keys.js';
import { parseSignedDocument } from '../agent/crypto/sign.js';
import { wireRandom } from '../agent/crypto/random.js';
import { OwnerChannel } from '../agent/owner/channel.js';
import { OwnerStore } from '../agent/owner/owner-store.js';
import type { OwnerActions } from '../agent/owner/contract.js';
import { signRequest } from '../agent/owner/requests.js';
import type { Transport } from '../agent/ports/transport.js';
import { topics } from '../agent/topics.js';
import { generateOwnerKeys } from '../companion/keys.js';
import { measure, printLine, printRatio, type Measurement } from './harness.js';

/** A versioned preference map: the cheapest real enforcement, so the figure is the channel's own cost. */
function mapActions(): OwnerActions {
  let version = 0;
  let prefs: Record<string, unknown> = {};
  const done = async (): Promise<{ version: number; enforced: unknown }> => ({ version, enforced: prefs });
  return {
    preferencesVersion: () => version,
    applyPatch: async (patch) => { prefs = { ...prefs, ...(patch as Record<string, unknown>) }; version += 1; return done(); },
    reset: async () => { prefs = {}; version += 1; return done(); },
    eraseAll: async () => ({}), eraseCategory: async () => ({}), exportData: async () => new Uint8Array(0),
    transferOwnership: async () => ({}), auditTrail: async () => new Uint8Array(0),
    acceptTerms: async () => done(), selfAssessment: () => ({}), corroborateTime: () => undefined, eraseUser: async () => ({}),
    enforcedState: () => ({ version, settings: prefs }),
    audit: async () => undefined,
  };
}

/** Delivers nothing anywhere: the figure excludes the network, and records when the accepted reply is handed over. */
function localTransport(onPublish: (topic: string) => void): Transport {
  return {
    connected: true,
    connect: async () => undefined,
    publish: async (topic) => onPublish(topic),
    subscribe: async () => undefined,
    onMessage: () => undefined,
    onConnection: () => undefined,
    close: async () => undefined,
  };
}

/**
 * Latency from a signed set-preferences request arriving to its accepted reply being published (network and
 * flash excluded: memory storage), against its floor, the Ed25519 verification of the same request.
 */
export async function runOwnerBench(): Promise<void> {
  wireRandom(nodeRandom());
  const deviceId = 'bench-1';
  const owner = generateOwnerKeys();
  const storage = memoryStorage();
  const identity = generateIdentity();
  const actions = mapActions();
  // Register the owner as pairing would, in the store the channel reads when it is created.
  await new OwnerStore(storage).register(owner.signPublicKey, owner.boxPublicKey, Date.now());
  const ready = await OwnerChannel.create({
    deviceId, deviceType: 'thermostat', identity: () => identity, actions, clock: systemClock(), storage,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  });
  let repliedAt = 0;
  await ready.attach(localTransport((topic) => { if (topic.endsWith('/accepted')) repliedAt = performance.now(); }));

  const requestFor = (i: number): Uint8Array => {
    const now = Date.now();
    return signRequest({
      deviceId, clientToken: `b${i}`, issuedAt: now, expiresAt: now + 60_000, kind: 'set-preferences',
      desired: { occupancy: i % 2 === 0 ? 'full' : 'off' }, expectedVersion: actions.preferencesVersion(),
    }, owner.signSecretKey);
  };
  const rounds = 150;
  let total = 0;
  for (let i = 0; i < rounds + 20; i++) {
    const payload = requestFor(i); // signing is the companion's cost, not timed
    const start = performance.now();
    await ready.handleMessage({ topic: topics.commandRequest(deviceId), payload, retain: false });
    if (i >= 20) total += repliedAt - start; // the first 20 warm the JIT
  }
  const latency: Measurement = { name: 'signed request -> accepted reply', perOpMicros: (total * 1000) / rounds, ops: rounds };
  const sample = requestFor(0);
  const { b, s } = parseSignedDocument(sample);
  const verify = measure('Ed25519 verify of the request', () => void nacl.sign.detached.verify(b, s, owner.signPublicKey), 300);
  printRatio('owner channel: request to accepted reply (no network, memory storage)', latency, verify);
  printLine('share spent verifying the owner signature', `${((verify.perOpMicros / latency.perOpMicros) * 100).toFixed(0)} %`);
  printLine('accepted / rejected in the run', `${ready.counters.accepted} / ${ready.counters.rejected}`);
}
