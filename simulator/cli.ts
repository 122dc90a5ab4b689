import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isTrustError } from '../agent/errors.js';
import { createProgress } from './progress.js';
import { renderSummaryTable, reportToJson, writeHtmlReport, writeJsonReport, writeJunitXml } from './report/index.js';
import { formatDuration, parseDuration } from './scenario/duration.js';
import { loadScenarioFile } from './scenario/loader.js';
import type { Scenario } from './scenario/types.js';
import { renderPreferenceChanges } from './report/changes.js';
import { runSimulation, type RunResult } from './run/index.js';
import { HELP_OPTION, parseCli, type OptionSpecs, type ParsedCli } from '../cli/args.js';

export const SIMULATE_USAGE = `trust-agent simulate [scenario.json] [options]

Runs a scenario (default: simulator/scenarios/default.json, a household over 7 virtual days) with a real agent per
device, a collector and the owners' companion apps on an MQTT broker over TLS, then checks every privacy verdict.

Options:
  --broker URL        use this broker instead of the embedded one (mqtts://host:port); needs --ca
  --ca FILE           PEM of the CA that signed the broker certificate
  --seed N            override the scenario seed (same seed, same readings, same verdicts, same report)
  --duration D        override the scenario duration (e.g. 12h, 2d); events after it are dropped
  --out DIR           where reports go (default: reports/<scenario-name>/)
  --speed MODE        virtual (default: days in seconds) or realtime (virtual time follows the wall clock, 1x)
  --step D            virtual time per loop step (default 5m; 15m for runs longer than 7 days)
  --quiet             no progress bar, no event lines
  --json              print the JSON report on standard output instead of the summary
  -h, --help          this text

Writes report.json, junit.xml, index.html and devices/<id>/ (compliance self-assessment, exported audit trail and
its verification) into the output directory.
Exit status: 0 every verdict passed, 1 a verdict failed (or the run could not complete), 2 usage error.
`;

interface Args {
  scenario?: string;
  broker?: string;
  ca?: string;
  seed?: number;
  duration?: number;
  out?: string;
  speed?: 'virtual' | 'realtime';
  stepMs?: number;
  quiet: boolean;
  json: boolean;
  help: boolean;
}

class UsageError extends Error {}

const SIMULATE_OPTIONS = {
  broker: { type: 'string' }, ca: { type: 'string' }, seed: { type: 'string' }, duration: { type: 'string' },
  out: { type: 'string' }, speed: { type: 'string' }, step: { type: 'string' }, quiet: { type: 'boolean' },
  json: { type: 'boolean' }, ...HELP_OPTION,
} as const satisfies OptionSpecs;

function parseArgs(argv: string[]): Args {
  let parsed: ParsedCli<typeof SIMULATE_OPTIONS>;
  try {
    parsed = parseCli(argv, SIMULATE_OPTIONS, { maxPositionals: 1 });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message.replace(/^unexpected argument/, 'only one scenario file; unexpected argument') : String(error));
  }
  const v = parsed.values;
  const args: Args = { quiet: v.quiet === true, json: v.json === true, help: v.help === true };
  if (parsed.positionals[0] !== undefined) args.scenario = parsed.positionals[0];
  if (v.broker !== undefined) args.broker = v.broker;
  if (v.ca !== undefined) args.ca = v.ca;
  if (v.out !== undefined) args.out = v.out;
  if (v.seed !== undefined) args.seed = seed(v.seed);
  if (v.duration !== undefined) args.duration = duration(v.duration, '--duration');
  if (v.step !== undefined) args.stepMs = duration(v.step, '--step');
  if (v.speed !== undefined) {
    if (v.speed !== 'virtual' && v.speed !== 'realtime') throw new UsageError('--speed must be virtual or realtime');
    args.speed = v.speed;
  }
  if (args.broker !== undefined && args.ca === undefined) throw new UsageError('--broker needs --ca (the broker is verified over TLS)');
  if (args.ca !== undefined && args.broker === undefined) throw new UsageError('--ca only makes sense with --broker');
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

/** The shipped default scenario, found above the sources or the bundle's chunk (dist/cli/*.js in the package). */
function defaultScenarioPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [resolve(here, '..'), resolve(here, '..', '..')].map((root) => resolve(root, 'simulator', 'scenarios', 'default.json'));
  return candidates.find((path) => existsSync(path)) ?? (candidates[0] as string);
}

function applyOverrides(scenario: Scenario, args: Args): Scenario {
  let s = scenario;
  if (args.seed !== undefined) s = { ...s, seed: args.seed, devices: s.devices };
  if (args.duration !== undefined) {
    const endMs = s.startMs + args.duration;
    s = { ...s, durationMs: args.duration, endMs, events: s.events.filter((e) => e.atMs < endMs) };
  }
  if (args.broker !== undefined) s = { ...s, broker: { kind: 'external', url: args.broker, ...(args.ca === undefined ? {} : { ca: args.ca }) } };
  return s;
}

export async function runSimulateCli(argv: string[]): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`trust-agent simulate: ${error.message}\n\n${SIMULATE_USAGE}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(SIMULATE_USAGE);
    return 0;
  }
  const path = args.scenario ?? defaultScenarioPath();
  let scenario: Scenario;
  try {
    scenario = applyOverrides(await loadScenarioFile(path), args);
  } catch (error) {
    process.stderr.write(`trust-agent simulate: ${isTrustError(error) || error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
  if (args.seed !== undefined) scenario = await reseed(path, scenario, args);
  const outDir = resolve(args.out ?? join('reports', scenario.name));
  const caPem = args.ca === undefined ? undefined : await readFile(args.ca, 'utf8');
  const tty = process.stderr.isTTY === true && !args.quiet;
  const progress = createProgress({ stream: process.stderr, isTTY: tty, startMs: scenario.startMs, endMs: scenario.endMs });
  if (!args.quiet && !args.json) {
    process.stderr.write(`Scenario ${scenario.name}: ${scenario.devices.length} devices, ${scenario.events.length} events, seed ${scenario.seed}, broker ${args.broker ?? 'embedded (TLS, loopback)'}\n`);
  }
  const result = await runSimulation(scenario, {
    ...(args.broker === undefined ? {} : { broker: { url: args.broker, ...(caPem === undefined ? {} : { caPem }) } }),
    ...(args.speed === undefined ? {} : { speed: args.speed }),
    ...(args.stepMs === undefined ? {} : { stepMs: args.stepMs }),
    outDir,
    onProgress: (sample) => progress.update(sample),
    onLog: (line) => { if (tty) progress.log(line); },
  });
  progress.finish();
  const files = await writeReports(outDir, result);
  if (args.json) process.stdout.write(reportToJson(result.report));
  else process.stdout.write(summary(result, files, process.stdout.isTTY === true));
  return result.report.passed ? 0 : 1;
}

/** A new seed changes every device's model seed too: reload so the loader derives them as it always does. */
async function reseed(path: string, scenario: Scenario, args: Args): Promise<Scenario> {
  const { parseScenario } = await import('./scenario/loader.js');
  const raw = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  const parsed = parseScenario(JSON.stringify({ ...raw, seed: args.seed }), path);
  const { seed: _seed, ...rest } = args;
  return parsed.ok ? applyOverrides(parsed.scenario, rest) : scenario;
}

async function writeReports(outDir: string, result: RunResult): Promise<{ json: string; junit: string; html: string }> {
  const json = join(outDir, 'report.json');
  const junit = join(outDir, 'junit.xml');
  await writeJsonReport(json, result.report);
  await writeJunitXml(junit, result.report);
  const html = await writeHtmlReport(outDir, result.report);
  return { json, junit, html };
}

function summary(result: RunResult, files: { json: string; junit: string; html: string }, color: boolean): string {
  const lines: string[] = ['', renderSummaryTable(result.verdicts, { color })];
  lines.push('Devices: category, setting enforced at the end (readings the collector delivered):');
  for (const d of result.devices) {
    const cats = Object.entries(d.settings).map(([c, s]) => `${c} ${s} (${d.collected[c] ?? 0})`);
    const extra = [`boots ${d.boots}`, `audit trail ${d.trailVerified ? 'verified' : 'DOES NOT VERIFY'}`].join(', ');
    lines.push(`  ${d.id.padEnd(20)} ${cats.join(' · ')}`);
    lines.push(`  ${''.padEnd(20)} ${extra}${d.page === undefined ? '' : `, report ${rel(join(dirname(files.html), d.page))}`}`);
  }
  const changes = renderPreferenceChanges(result.evidence);
  if (changes.length > 0) lines.push('', ...changes);
  const r = result.runtime;
  lines.push('', `Virtual ${fmtDays(result.report.scenario.durationMs)} in ${(r.wallMs / 1000).toFixed(1)} s: ${r.readings} readings, `
    + `${result.report.totals.delivered} delivered, ${result.report.totals.wireMessages} wire messages${r.stalls > 0 ? `, ${r.stalls} network stalls` : ''}${r.recordErrors > 0 ? `, ${r.recordErrors} readings refused by the gate` : ''}.`);
  lines.push(`JSON report   ${rel(files.json)}`, `JUnit XML     ${rel(files.junit)}`, `HTML report   ${rel(files.html)}`, '');
  return lines.join('\n');
}

function rel(path: string): string {
  const r = relative(process.cwd(), path);
  return r.startsWith('..') ? path : r;
}

function fmtDays(ms: number): string {
  return ms >= 86_400_000 ? `${+(ms / 86_400_000).toFixed(2)} days` : ms >= 3_600_000 ? `${+(ms / 3_600_000).toFixed(2)} hours` : formatDuration(ms);
}
