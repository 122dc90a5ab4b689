import { HELP_OPTION, parseCli, type OptionSpecs, type ParsedCli } from '../cli/args.js';
import { parseDuration } from './scenario/duration.js';
import { describeLibrary } from './scenario/library.js';
import { parseShard, type ShardSpec } from './shard/assign.js';

const USAGE_HEAD = `trust-agent simulate [scenario] [options]

Runs a scenario with a real agent per device, a collector and the owners' companion apps on an MQTT broker over TLS,
then checks every privacy verdict. [scenario] is a name from the library below (default: default, a household over
7 virtual days) or the path of a scenario .json file.

Options:
  --list              list the scenario library (name, duration, devices, events) and exit
  --broker URL        use this broker instead of the embedded one (mqtts://host:port); needs --ca
  --ca FILE           PEM of the CA that signed the broker certificate
  --seed N            override the scenario seed (same seed, same readings, same verdicts, same report)
  --duration D        run for D instead (e.g. 12h, 2d); shorter than the scenario's events is an error naming them
  --rescale           with a shorter --duration: scale every event time and event duration into it instead
  --out DIR           where reports go (default: reports/<scenario-name>/)
  --speed MODE        virtual (default: days in seconds) or realtime (virtual time follows the wall clock, 1x);
                      realtime also writes the attach files (below) to <out>/attach unless --keys-out says where
  --keys-out DIR      write what an outside tool needs to attach to this run: broker URL (and wss:// URL), CA,
                      the collector's key pair, each device's public keys and pairing payloads (QR as SVG and text)
  --unpaired IDS      leave these devices (comma-separated, or all) unpaired with their pairing window open, for an
                      outside companion; their owner events are removed from the scenario (implies --keys-out)
  --step D            virtual time per loop step (default 5m; 15m for runs longer than 7 days)
  --shard I/N         run slice I (0-based) of N of the fleet, for fleets beyond one machine: needs --broker, which
                      every shard uses; the shards' collectors share the telemetry (MQTT $share). Writes shard.json
                      and devices/<id>/ to --out (default reports/<scenario>/shard-I-of-N); judge the fleet with
                      'trust-agent report merge DIR...' once every shard has finished (docs/simulator.md)
  --shard-wait D      with --shard: how long a finished shard waits for the others (default 60m)
  --quiet             no progress bar, no event lines
  --json              print the JSON report on standard output instead of the summary
  -h, --help          this text
`;

const USAGE_TAIL = `
Writes report.json, junit.xml, index.html and devices/<id>/ (compliance self-assessment, exported audit trail and
its verification) into the output directory.
Exit status: 0 every verdict passed, 1 a verdict failed (or the run could not complete), 2 usage error.
`;

/** The help text, with the scenario library as it is on disk. */
export function simulateUsage(): string {
  const library = describeLibrary().map((line) => `  ${line}`);
  return `${USAGE_HEAD}\nScenarios (simulator/scenarios/):\n${library.join('\n')}\n${USAGE_TAIL}`;
}

export interface SimulateArgs {
  scenario?: string;
  broker?: string;
  ca?: string;
  seed?: number;
  duration?: number;
  rescale: boolean;
  out?: string;
  speed?: 'virtual' | 'realtime';
  stepMs?: number;
  keysOut?: string;
  unpaired?: string[] | 'all';
  shard?: ShardSpec;
  shardWaitMs?: number;
  quiet: boolean;
  json: boolean;
  list: boolean;
  help: boolean;
}

export class UsageError extends Error {}

const SIMULATE_OPTIONS = {
  broker: { type: 'string' }, ca: { type: 'string' }, seed: { type: 'string' }, duration: { type: 'string' },
  rescale: { type: 'boolean' }, out: { type: 'string' }, speed: { type: 'string' }, step: { type: 'string' },
  quiet: { type: 'boolean' }, json: { type: 'boolean' }, list: { type: 'boolean' }, 'keys-out': { type: 'string' },
  unpaired: { type: 'string' }, shard: { type: 'string' }, 'shard-wait': { type: 'string' }, ...HELP_OPTION,
} as const satisfies OptionSpecs;

export function parseSimulateArgs(argv: string[]): SimulateArgs {
  let parsed: ParsedCli<typeof SIMULATE_OPTIONS>;
  try {
    parsed = parseCli(argv, SIMULATE_OPTIONS, { maxPositionals: 1 });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message.replace(/^unexpected argument/, 'only one scenario; unexpected argument') : String(error));
  }
  const v = parsed.values;
  const args: SimulateArgs = { quiet: v.quiet === true, json: v.json === true, help: v.help === true, list: v.list === true, rescale: v.rescale === true };
  if (parsed.positionals[0] !== undefined) args.scenario = parsed.positionals[0];
  if (v.broker !== undefined) args.broker = v.broker;
  if (v.ca !== undefined) args.ca = v.ca;
  if (v.out !== undefined) args.out = v.out;
  if (v['keys-out'] !== undefined) args.keysOut = v['keys-out'];
  if (v.unpaired !== undefined) {
    const ids = v.unpaired.split(',').map((id) => id.trim()).filter((id) => id !== '');
    if (ids.length === 0) throw new UsageError('--unpaired needs device ids (comma-separated) or all');
    args.unpaired = ids.length === 1 && ids[0] === 'all' ? 'all' : ids;
  }
  if (v.seed !== undefined) args.seed = seed(v.seed);
  if (v.duration !== undefined) args.duration = duration(v.duration, '--duration');
  if (v.step !== undefined) args.stepMs = duration(v.step, '--step');
  if (v.speed !== undefined) {
    if (v.speed !== 'virtual' && v.speed !== 'realtime') throw new UsageError('--speed must be virtual or realtime');
    args.speed = v.speed;
  }
  if (v.shard !== undefined) {
    try {
      args.shard = parseShard(v.shard);
    } catch (error) {
      throw new UsageError(error instanceof Error ? error.message : String(error));
    }
    if (args.broker === undefined) throw new UsageError('--shard needs --broker URL and --ca FILE: the shards of a fleet meet on one external broker (the embedded broker lives inside one process)');
    if (args.keysOut !== undefined || args.unpaired !== undefined) throw new UsageError('--shard does not combine with --keys-out or --unpaired');
    if (args.speed === 'realtime') throw new UsageError('--shard runs in virtual time only');
  }
  if (v['shard-wait'] !== undefined) {
    if (args.shard === undefined) throw new UsageError('--shard-wait only makes sense with --shard');
    args.shardWaitMs = duration(v['shard-wait'], '--shard-wait');
  }
  if (args.broker !== undefined && args.ca === undefined) throw new UsageError('--broker needs --ca (the broker is verified over TLS)');
  if (args.ca !== undefined && args.broker === undefined) throw new UsageError('--ca only makes sense with --broker');
  if (args.rescale && args.duration === undefined) throw new UsageError('--rescale only makes sense with --duration');
  return args;
}

function seed(text: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new UsageError('--seed must be an integer from 0 to 4294967295');
  return n;
}

function duration(text: string, flag: string): number {
  try {
    const ms = parseDuration(text);
    if (ms > 0) return ms;
  } catch {
    // reported below
  }
  throw new UsageError(`${flag} must be a duration such as 90s, 2h30m or 7d`);
}
