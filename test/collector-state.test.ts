import { mkdtempSync, rmSync, statSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeFileStorage, type NodeFileStorage } from '../agent/adapters/node/storage.js';
import { keyId } from '../agent/crypto/keys.js';
import { Sealer } from '../agent/telemetry/sealer.js';
import { topics } from '../agent/topics.js';
import { createCollector, fileCollectorState, openCollectorService, type Collector, type CollectorState } from '../collector/index.js';

/** Issue 10 item 7: the collector's replay and dedup memory survives a restart (new instance, same files). */

const NOW = Date.UTC(2026, 0, 1);
const collectorKeys = nacl.box.keyPair.fromSecretKey(new Uint8Array(32).fill(3));
const device = nacl.box.keyPair.fromSecretKey(new Uint8Array(32).fill(4));
const dirs: string[] = [];
const open: Array<NodeFileStorage> = [];
afterEach(async () => {
  for (const storage of open.splice(0)) await storage.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function sealer(version: 1 | 2): Sealer {
  return new Sealer({
    identity: { boxSecretKey: device.secretKey, boxKeyId: keyId(device.publicKey) }, deviceId: 'dev-1', recipientPublicKey: collectorKeys.publicKey,
    sessionId: new Uint8Array(8).fill(6), version,
  });
}
const reading = (seq: number) => ({ id: { session: '0606060606060606', seq }, category: 'climate', at: NOW, expiresAt: NOW + 86_400_000, data: { t: seq } });

async function start(dir: string, extra: { compactAfter?: number; now?: () => number; replayWindow?: number } = {}): Promise<{ collector: Collector; state: CollectorState }> {
  const storage = nodeFileStorage(dir);
  open.push(storage);
  const state = await fileCollectorState(storage, extra.compactAfter === undefined ? {} : { compactAfter: extra.compactAfter });
  const collector = createCollector({
    secretKey: collectorKeys.secretKey, now: extra.now ?? (() => NOW), devices: [{ deviceId: 'dev-1', boxPublicKey: device.publicKey }], state,
    ...(extra.replayWindow === undefined ? {} : { replayWindow: extra.replayWindow }),
  });
  return { collector, state };
}

describe.each([1, 2] as const)('collector state across a restart (envelope v%i)', (version) => {
  it('a remembered envelope is a replay after the restart; a remembered reading in a new envelope is a duplicate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'collector-state-'));
    dirs.push(dir);
    const seal = sealer(version);
    const first = seal.seal('telemetry', [reading(0), reading(1)], NOW);
    const before = await start(dir);
    const r0 = before.collector.ingest(topics.telemetry('dev-1'), first);
    expect(r0).toMatchObject({ ok: true, delivered: [{}, {}] });
    await before.state.close();

    const after = await start(dir);
    expect(after.collector.ingest(topics.telemetry('dev-1'), first)).toMatchObject({ ok: false, reason: 'replay', code: 'REPLAY' });
    // The same reading re-sent inside a new envelope (the agent resends after a lost ack): delivered once only.
    const again = seal.seal('telemetry', [reading(1), reading(2)], NOW);
    expect(after.collector.ingest(topics.telemetry('dev-1'), again)).toMatchObject({ ok: true, duplicates: 1, delivered: [{ id: { seq: 2 } }] });
    await after.state.close();
  });
});

describe('the state log', () => {
  it('a torn tail (power cut during an append) is cut off; everything before it is kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'collector-state-'));
    dirs.push(dir);
    const seal = sealer(2);
    const envelopes = Array.from({ length: 5 }, (_, i) => seal.seal('telemetry', [reading(i)], NOW));
    const before = await start(dir);
    for (const envelope of envelopes) expect(before.collector.ingest(topics.telemetry('dev-1'), envelope).ok).toBe(true);
    await before.state.close();
    appendFileSync(join(dir, 'collector/state.log'), new Uint8Array([0, 0, 0, 40, 1, 2, 3]));
    const after = await start(dir);
    for (const envelope of envelopes) expect(after.collector.ingest(topics.telemetry('dev-1'), envelope)).toMatchObject({ ok: false, reason: 'replay' });
    await after.state.close();
  });

  it('stays bounded: compaction rewrites it as a snapshot, and the snapshot still refuses every replay', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'collector-state-'));
    dirs.push(dir);
    const seal = sealer(2);
    // Readings live 10 s and one arrives per second; the replay window is 16 envelopes: little stays worth keeping.
    let now = NOW;
    const envelopes = Array.from({ length: 400 }, (_, i) => seal.seal('telemetry', [{ ...reading(i), at: NOW + i * 1000, expiresAt: NOW + i * 1000 + 10_000 }], NOW + i * 1000));
    const before = await start(dir, { compactAfter: 100, now: () => now, replayWindow: 16 });
    for (const envelope of envelopes) {
      expect(before.collector.ingest(topics.telemetry('dev-1'), envelope).ok).toBe(true);
      await before.state.flush(); // one batch per envelope: the worst case for growth
      now += 1000;
    }
    await before.state.close();
    const size = statSync(join(dir, 'collector/state.log')).size;
    // 800 facts of about 48 B (about 38 KB) if never compacted; compacted: at most what is live (about 30 facts)
    // plus the 100 appended since the last rewrite.
    expect(size).toBeLessThan(150 * 50);
    const after = await start(dir, { now: () => now, replayWindow: 16 });
    for (const envelope of envelopes) expect(after.collector.ingest(topics.telemetry('dev-1'), envelope)).toMatchObject({ ok: false, reason: 'replay' });
    await after.state.close();
  });
});

describe('openCollectorService', () => {
  it('keeps its memory in the embedded log by default: a second service over the same directory refuses the replay', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'collector-service-'));
    dirs.push(dir);
    const envelope = sealer(2).seal('telemetry', [reading(0)], NOW);
    const options = { secretKey: collectorKeys.secretKey, now: () => NOW, devices: [{ deviceId: 'dev-1', boxPublicKey: device.publicKey }] };
    const firstStorage = nodeFileStorage(dir);
    open.push(firstStorage);
    const first = await openCollectorService({ ...options, storage: firstStorage });
    expect(first.collector.ingest(topics.telemetry('dev-1'), envelope).ok).toBe(true);
    await first.close();
    const secondStorage = nodeFileStorage(dir);
    open.push(secondStorage);
    const second = await openCollectorService({ ...options, storage: secondStorage });
    expect(second.collector.ingest(topics.telemetry('dev-1'), envelope)).toMatchObject({ ok: false, reason: 'replay' });
    await second.close();
  });
});
