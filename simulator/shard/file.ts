import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromHex, toHex } from '../../agent/crypto/keys.js';
import type { Scenario } from '../scenario/types.js';
import type { Evidence } from '../verdicts/index.js';
import { devicesOfShard, type ShardSpec } from './assign.js';

export const SHARD_FORMAT = 'trust-agent-shard/1';
export const SHARD_FILE = 'shard.json';

/** What a shard measured in real time (differs between runs; the merged report's `runtime` section). */
export interface ShardRuntime {
  wallMs: number;
  readings: number;
  stalls: number;
  unanswered: number;
  wireCopies: number;
  broker: string;
}

/** What one shard writes (shard.json in its output directory): enough to judge the whole fleet after a merge. */
export interface ShardFile {
  format: typeof SHARD_FORMAT;
  /** The iot-trust-agent version that ran the shard: shards of different versions are not merged. */
  version: string;
  shard: ShardSpec;
  /** The whole (unsliced) scenario the shard was cut from: merge compares it across shards. */
  scenario: Scenario;
  /** The devices this shard ran (its slice). */
  devices: string[];
  /** Device pages written under the shard's directory (devices/<id>/index.html), relative to it. */
  deviceReports: Record<string, string>;
  runtime: ShardRuntime;
  /** The shard's evidence, wire payloads as hex. `delivered` holds whatever its collector delivered, of any device. */
  evidence: Omit<Evidence, 'scenario' | 'wire'> & { wire: Array<{ topic: string; payload: string; at: number }> };
}

export function toShardFile(
  whole: Scenario, shard: ShardSpec, evidence: Evidence, extra: { deviceReports?: Record<string, string>; runtime?: ShardRuntime } = {},
): ShardFile {
  const { scenario: _sliced, wire, ...rest } = evidence;
  void _sliced;
  return {
    format: SHARD_FORMAT, version: toolVersion(), shard, scenario: whole, devices: devicesOfShard(whole, shard),
    deviceReports: extra.deviceReports ?? {},
    runtime: extra.runtime ?? { wallMs: 0, readings: 0, stalls: 0, unanswered: 0, wireCopies: 0, broker: '' },
    evidence: { ...rest, wire: wire.map((m) => ({ topic: m.topic, payload: toHex(m.payload), at: m.at })) },
  };
}

export function wireOf(file: ShardFile): Evidence['wire'] {
  return file.evidence.wire.map((m) => ({ topic: m.topic, payload: fromHex(m.payload, 'wire payload'), at: m.at }));
}

export async function writeShardFile(dir: string, file: ShardFile): Promise<string> {
  const path = join(dir, SHARD_FILE);
  await mkdir(dir, { recursive: true });
  await writeFile(path, JSON.stringify(file));
  return path;
}

/** A shard directory's shard.json; a missing or unreadable file is an Error that names the path. */
export async function readShardFile(dir: string): Promise<ShardFile> {
  const path = join(dir, SHARD_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new Error(`${dir}: no ${SHARD_FILE} (is this the --out directory of a 'simulate --shard' run?)`);
  }
  try {
    return JSON.parse(text) as ShardFile;
  } catch {
    throw new Error(`${path}: not JSON (a shard that did not finish writing?)`);
  }
}

let version: string | undefined;

/** The package version, from the package.json above this module (source tree and bundle alike). */
export function toolVersion(): string {
  if (version !== undefined) return version;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++, dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'iot-trust-agent' && typeof pkg.version === 'string') return (version = pkg.version);
    } catch {
      // not here: one level up
    }
  }
  return (version = 'unknown');
}
