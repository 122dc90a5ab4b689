import { beforeAll, describe, expect, it } from 'vitest';
import { parseScenario } from '../simulator/scenario/loader.js';
import type { Scenario } from '../simulator/scenario/types.js';
import { devicesOfShard, parseShard, sliceScenario, type ShardSpec } from '../simulator/shard/assign.js';
import { toShardFile } from '../simulator/shard/file.js';
import { MergeRefusal, mergeShards, type LoadedShard } from '../simulator/shard/merge.js';
import { checkVerdicts, type Evidence } from '../simulator/verdicts/index.js';
import { referenceEvidence } from '../simulator/verdicts/reference.js';

const HOUR = 3_600_000;
const PROBE = {
  name: 'shard-probe', seed: 7, start: '2026-01-05T00:00:00Z', duration: '2d',
  fleet: [
    { type: 'thermostat', count: 2, idPrefix: 'thermostat' },
    { type: 'smart-lock', count: 2, idPrefix: 'lock' },
    { type: 'fitness-tracker', count: 1, idPrefix: 'tracker' },
  ],
  events: [
    { at: '1h', type: 'preference', device: 'tracker-1', patch: { 'heart-rate': 'minimised', activity: 'full' } },
    { at: '6h', type: 'broker-outage', duration: '2h' },
    { at: '20h', type: 'hostile', device: 'lock-1', kind: 'forged', count: 3 },
    { at: '1d12h', type: 'erase', device: 'thermostat-1' },
  ],
};

function load(raw: object): Scenario {
  const result = parseScenario(JSON.stringify(raw));
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.scenario;
}

/** One shard's evidence as the reference model produces it for its slice, written and read back as JSON. */
function shardOf(whole: Scenario, shard: ShardSpec): LoadedShard {
  const evidence: Evidence = referenceEvidence(sliceScenario(whole, shard), { snapshotEveryMs: 4 * HOUR });
  // The reference model's wire log carries delivered reading i in an envelope of session 0, sequence number i.
  evidence.delivered.forEach((d, i) => (d.envelope = `0000000000000000:${i}`));
  const file = JSON.parse(JSON.stringify(toShardFile(whole, shard, evidence))) as LoadedShard['file'];
  return { source: `shard-${shard.index}`, file };
}

let whole: Scenario;
let shards: LoadedShard[];

beforeAll(() => {
  whole = load(PROBE);
  shards = [0, 1, 2].map((index) => shardOf(whole, { index, count: 3 }));
});

describe('shard assignment', () => {
  it('parses i/n and refuses anything else', () => {
    expect(parseShard('2/3')).toEqual({ index: 2, count: 3 });
    for (const bad of ['3/3', '0/0', '-1/2', '1', 'a/b', '1/2/3']) expect(() => parseShard(bad)).toThrow(/--shard must be i\/n/);
  });

  it('puts every device in exactly one shard, the same way every time', () => {
    const slices = [0, 1, 2].map((index) => devicesOfShard(whole, { index, count: 3 }));
    expect(slices.flat().sort()).toEqual(whole.devices.map((d) => d.id).sort());
    expect(new Set(slices.flat()).size).toBe(whole.devices.length);
    expect([0, 1, 2].map((index) => devicesOfShard(whole, { index, count: 3 }))).toEqual(slices);
  });

  it('keeps fleet-wide events in every slice and device events only in their device\'s slice', () => {
    const outage = (s: Scenario): number => s.events.filter((e) => e.type === 'broker-outage').length;
    for (let index = 0; index < 3; index++) expect(outage(sliceScenario(whole, { index, count: 3 }))).toBe(1);
    const deviceEvents = [0, 1, 2].flatMap((index) => sliceScenario(whole, { index, count: 3 }).events.filter((e) => 'device' in e));
    expect(deviceEvents.length).toBe(whole.events.filter((e) => 'device' in e).length);
  });
});

describe('report merge', () => {
  it('gives the verdicts of the whole fleet judged at once', () => {
    const merged = mergeShards(shards);
    expect(checkVerdicts(merged)).toEqual(checkVerdicts(referenceEvidence(whole, { snapshotEveryMs: 4 * HOUR })));
    expect(mergeShards([...shards].reverse()).delivered).toEqual(merged.delivered);
  });

  it('refuses shards that do not cover the fleet', () => {
    expect(() => mergeShards(shards.slice(0, 2))).toThrow(MergeRefusal);
    expect(() => mergeShards(shards.slice(0, 2))).toThrow(/do not cover the fleet: \d+ device\(s\) in none: /);
  });

  it('refuses overlapping shards', () => {
    const again = shards[1] as LoadedShard;
    expect(() => mergeShards([...shards, { ...again, source: 'copy-of-1' }])).toThrow(/overlap: device \S+ is in shard-1 and in copy-of-1/);
  });

  it('refuses shards of another seed, another scenario or another shard count', () => {
    const [a, b, c] = shards as [LoadedShard, LoadedShard, LoadedShard];
    const reseeded = shardOf(load({ ...PROBE, seed: 8 }), { index: 2, count: 3 });
    expect(() => mergeShards([a, b, reseeded])).toThrow(/shard-2: seed 8, but shard-0 has seed 7/);
    const renamed = shardOf(load({ ...PROBE, name: 'other' }), { index: 2, count: 3 });
    expect(() => mergeShards([a, b, renamed])).toThrow(/scenario other, but shard-0 is shard-probe/);
    const longer = shardOf(load({ ...PROBE, duration: '3d' }), { index: 2, count: 3 });
    expect(() => mergeShards([a, b, longer])).toThrow(/the scenario differs/);
    const ofTwo = shardOf(whole, { index: 1, count: 2 });
    expect(() => mergeShards([a, ofTwo, c])).toThrow(/one of 3/);
  });

  it('merges shards whose hosts reached the broker by other URLs and read the scenario from other paths', () => {
    const [a, b, c] = shards as [LoadedShard, LoadedShard, LoadedShard];
    const elsewhere = { ...c, file: { ...c.file, scenario: { ...c.file.scenario, source: '/srv/other/fleet.json', broker: { kind: 'external' as const, url: 'mqtts://10.0.0.5:8883' } } } };
    expect(mergeShards([a, b, elsewhere]).delivered).toEqual(mergeShards(shards).delivered);
  });

  it('refuses shards made by another version', () => {
    const [a, b, c] = shards as [LoadedShard, LoadedShard, LoadedShard];
    expect(() => mergeShards([a, b, { ...c, file: { ...c.file, version: '0.0.1' } }])).toThrow(/shard-2: made by version 0\.0\.1, but shard-0 by /);
  });

  it('times each delivery by its envelope on the wire of the device\'s shard, and refuses a delivery no shard saw', () => {
    const [a, b, c] = shards as [LoadedShard, LoadedShard, LoadedShard];
    // Shard 0's collector also delivered a reading of shard 1's device, received on its own (meaningless) clock.
    const foreign = b.file.evidence.delivered[0];
    if (foreign === undefined) throw new Error('shard 1 delivered nothing');
    const crossed = { ...a, file: { ...a.file, evidence: { ...a.file.evidence, delivered: [...a.file.evidence.delivered, { ...foreign, receivedAt: 0 }] } } };
    expect(mergeShards([crossed, b, c]).delivered).toEqual(mergeShards(shards).delivered);
    const unseen = { ...a, file: { ...a.file, evidence: { ...a.file.evidence, delivered: [...a.file.evidence.delivered, { ...foreign, envelope: 'ffff:9' }] } } };
    expect(() => mergeShards([unseen, b, c])).toThrow(/shard-0: its collector delivered \S+ \S+ from envelope ffff:9, which shard-1 never saw on the wire/);
  });

  it('refuses an empty list and a file that is not a shard file', () => {
    expect(() => mergeShards([])).toThrow(/no shard directories/);
    const [a] = shards as [LoadedShard];
    expect(() => mergeShards([{ source: 'x', file: { ...a.file, format: 'nope' as never } }])).toThrow(/x: not a shard file/);
  });
});
