import { parseAnyEnvelope } from '../../agent/codec/envelope-any.js';
import { toHex } from '../../agent/crypto/keys.js';
import { parseDeviceTopic } from '../../agent/topics.js';
import type { Scenario } from '../scenario/types.js';
import type { DeliveredRecord, Evidence, WireMessage } from '../verdicts/index.js';
import { SHARD_FORMAT, wireOf, type ShardFile } from './file.js';

/** Why a set of shard files cannot be merged; the message names the shard and the reason. */
export class MergeRefusal extends Error {}

export interface LoadedShard {
  /** Where it came from (the shard directory), for messages. */
  source: string;
  file: ShardFile;
}

/**
 * One evidence for the whole fleet, or a MergeRefusal saying why not: not a shard file, another version, another
 * scenario or seed, another shard count, the same slice twice, a device in two shards, or a device in none.
 */
export function mergeShards(shards: readonly LoadedShard[]): Evidence {
  const owner = checkShards(shards);
  const base = (shards[0] as LoadedShard).file;
  return combine(base.scenario, shards, owner);
}

function checkShards(shards: readonly LoadedShard[]): Map<string, LoadedShard> {
  const first = shards[0];
  if (first === undefined) throw new MergeRefusal('no shard directories given');
  for (const s of shards) {
    if (s.file.format !== SHARD_FORMAT) throw new MergeRefusal(`${s.source}: not a shard file (format ${String(s.file.format)}, expected ${SHARD_FORMAT})`);
  }
  const base = first.file;
  for (const s of shards.slice(1)) {
    const f = s.file;
    if (f.version !== base.version) throw new MergeRefusal(`${s.source}: made by version ${f.version}, but ${first.source} by ${base.version}`);
    if (f.scenario.name !== base.scenario.name) throw new MergeRefusal(`${s.source}: scenario ${f.scenario.name}, but ${first.source} is ${base.scenario.name}`);
    if (f.scenario.seed !== base.scenario.seed) throw new MergeRefusal(`${s.source}: seed ${f.scenario.seed}, but ${first.source} has seed ${base.scenario.seed}`);
    if (JSON.stringify(comparable(f.scenario)) !== JSON.stringify(comparable(base.scenario))) {
      throw new MergeRefusal(`${s.source}: the scenario differs from ${first.source} (same name and seed, other devices, events or duration)`);
    }
    if (f.shard.count !== base.shard.count) throw new MergeRefusal(`${s.source}: shard ${f.shard.index}/${f.shard.count}, but ${first.source} is one of ${base.shard.count}`);
  }
  const owner = new Map<string, LoadedShard>();
  for (const s of shards) {
    for (const id of s.file.devices) {
      const other = owner.get(id);
      if (other !== undefined) throw new MergeRefusal(`overlap: device ${id} is in ${other.source} and in ${s.source}`);
      owner.set(id, s);
    }
  }
  const missing = base.scenario.devices.map((d) => d.id).filter((id) => !owner.has(id));
  if (missing.length > 0) {
    const given = shards.map((s) => `${s.file.shard.index}/${s.file.shard.count}`).join(', ');
    throw new MergeRefusal(`the shards (${given}) do not cover the fleet: ${missing.length} device(s) in none: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}`);
  }
  return owner;
}

/** What must agree between shards: everything but where each host found the file and how it reaches the broker. */
function comparable(scenario: Scenario): Omit<Scenario, 'broker' | 'source'> {
  const { broker: _broker, source: _source, ...rest } = scenario;
  void _broker;
  void _source;
  return rest;
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function combine(scenario: Scenario, shards: readonly LoadedShard[], owner: ReadonlyMap<string, LoadedShard>): Evidence {
  const merged: Evidence = { scenario, runEndMs: scenario.endMs, delivered: [], accepted: [], wire: [], stores: [], hostile: [], acks: [], rights: [], auditTrails: [] };
  for (const { file } of shards) {
    const e = file.evidence;
    merged.runEndMs = Math.max(merged.runEndMs, e.runEndMs);
    // Each shard's raw subscriber follows its own devices only: its wire log is theirs, timed by their clock.
    merged.wire.push(...wireOf(file));
    merged.accepted.push(...e.accepted);
    merged.stores.push(...e.stores);
    merged.hostile.push(...e.hostile);
    merged.acks.push(...e.acks);
    merged.rights.push(...e.rights);
    merged.auditTrails?.push(...(e.auditTrails ?? []));
    if (e.household !== undefined) merged.household = e.household;
    if (e.home !== undefined) merged.home = e.home;
  }
  merged.delivered = retimed(shards, envelopeTimes(merged.wire), owner);
  const firstDelivery = new Map(merged.delivered.map((d) => [`${d.deviceId}|${d.id}`, d.receivedAt]));
  // A shard knows only what its own collector delivered when it samples its stores: a record another shard's
  // collector delivered before the sample is not queued any more (as the reference model defines it).
  for (const snap of merged.stores) {
    snap.records = snap.records.map((r) => (r.queued === true && (firstDelivery.get(`${snap.deviceId}|${r.id ?? ''}`) ?? Infinity) <= snap.takenAt ? { ...r, queued: false } : r));
  }
  const position = new Map(scenario.devices.map((d, i) => [d.id, i]));
  const place = (id: string): number => position.get(id) ?? Infinity;
  merged.wire.sort((a, b) => a.at - b.at || byText(a.topic, b.topic));
  merged.accepted.sort((a, b) => a.at - b.at || place(a.deviceId) - place(b.deviceId));
  merged.stores.sort((a, b) => a.takenAt - b.takenAt || place(a.deviceId) - place(b.deviceId));
  for (const list of [merged.hostile, merged.acks, merged.rights]) list.sort((a, b) => a.eventIndex - b.eventIndex);
  merged.auditTrails?.sort((a, b) => place(a.deviceId) - place(b.deviceId));
  return merged;
}

/** `deviceId|session:seq` of every telemetry envelope on the wire -> the virtual time its shard saw it relayed. */
function envelopeTimes(wire: readonly WireMessage[]): Map<string, number> {
  const times = new Map<string, number>();
  for (const m of wire) {
    const place = parseDeviceTopic(m.topic);
    if (place?.rest !== 'telemetry') continue;
    let header: { sessionId: Uint8Array; seq: number };
    try {
      const parsed = parseAnyEnvelope(m.payload);
      header = parsed.version === 1 ? parsed.v1.header : parsed.v2.header;
    } catch {
      continue; // not an envelope: nothing a collector could have delivered from it
    }
    const key = `${place.deviceId}|${toHex(header.sessionId)}:${header.seq}`;
    const known = times.get(key);
    if (known === undefined || m.at < known) times.set(key, m.at);
  }
  return times;
}

/**
 * Every collector's deliveries, timed as a one-process run times them. A shard's collector may have received a
 * reading of another shard's device at any point of its own virtual time, so its own receipt time means nothing:
 * the reading was received when its envelope appeared on the broker, as the raw subscriber of the device's shard
 * saw it (in a one-process run the collector and the raw subscriber see each envelope at the same virtual instant).
 * Then the collector's own rule on that time: a reading expired on arrival is not delivered, and each reading is
 * delivered once (the first envelope that carried it).
 */
function retimed(shards: readonly LoadedShard[], times: ReadonlyMap<string, number>, owner: ReadonlyMap<string, LoadedShard>): DeliveredRecord[] {
  const first = new Map<string, DeliveredRecord>();
  for (const { source, file } of shards) {
    for (const d of file.evidence.delivered) {
      const receivedAt = times.get(`${d.deviceId}|${d.envelope ?? ''}`);
      if (receivedAt === undefined) {
        throw new MergeRefusal(`${source}: its collector delivered ${d.deviceId} ${d.id} from envelope ${d.envelope ?? '(unnamed)'}, which ${owner.get(d.deviceId)?.source ?? 'no shard'} never saw on the wire (shards of different runs?)`);
      }
      if (d.expiresAt <= receivedAt) continue;
      const key = `${d.deviceId}|${d.id}`;
      const known = first.get(key);
      if (known === undefined || receivedAt < known.receivedAt) first.set(key, { ...d, receivedAt });
    }
  }
  const seqOf = (d: DeliveredRecord): number => Number(d.envelope?.split(':')[1] ?? 0);
  return [...first.values()].sort((a, b) => a.receivedAt - b.receivedAt || byText(a.deviceId, b.deviceId) || seqOf(a) - seqOf(b));
}
