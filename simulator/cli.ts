import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { isTrustError } from '../agent/errors.js';
import { createProgress } from './progress.js';
import { renderSummaryTable, reportToJson, writeHtmlReport, writeJsonReport, writeJunitXml } from './report/index.js';
import { formatDuration } from './scenario/duration.js';
import { describeLibrary, resolveScenario } from './scenario/library.js';
import { attachTraces, loadScenarioFile, parseScenario } from './scenario/loader.js';
import { leaveUnpaired, startingAt, withDuration } from './scenario/override.js';
import { parseSimulateArgs, simulateUsage, UsageError, type SimulateArgs } from './cli-args.js';
import type { Scenario } from './scenario/types.js';
import { renderPreferenceChanges } from './report/changes.js';
import { runSimulation, type RunResult } from './run/index.js';
import type { AttachFiles } from './run/attach.js';
import { runShardCli } from './shard/cli.js';

/** A new seed, then the duration (which may rescale or refuse), then the broker: in that order. */
async function prepare(path: string, args: SimulateArgs): Promise<Scenario> {
  let scenario = await loadScenarioFile(path);
  // A new seed changes every device's model seed too: reload so the loader derives them as it always does.
  if (args.seed !== undefined) scenario = await reseed(path, scenario, args.seed);
  if (args.duration !== undefined) scenario = withDuration(scenario, args.duration, { rescale: args.rescale });
  if (args.broker !== undefined) scenario = { ...scenario, broker: { kind: 'external', url: args.broker, ...(args.ca === undefined ? {} : { ca: args.ca }) } };
  return scenario;
}

export async function runSimulateCli(argv: string[]): Promise<number> {
  let args: SimulateArgs;
  try {
    args = parseSimulateArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`trust-agent simulate: ${error.message}\n\n${simulateUsage()}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(simulateUsage());
    return 0;
  }
  if (args.list) {
    process.stdout.write(`${describeLibrary().join('\n')}\n`);
    return 0;
  }
  let scenario: Scenario;
  try {
    scenario = await prepare(resolveScenario(args.scenario), args);
  } catch (error) {
    process.stderr.write(`trust-agent simulate: ${isTrustError(error) || error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
  if (args.shard !== undefined) return runShardCli(scenario, args, args.shard);
  let unpaired: string[] = [];
  if (args.unpaired !== undefined) {
    try {
      unpaired = args.unpaired === 'all' ? scenario.devices.map((d) => d.id) : args.unpaired;
      const left = leaveUnpaired(scenario, unpaired);
      scenario = left.scenario;
      if (left.removed.length > 0 && !args.quiet) process.stderr.write(`Owner events removed for the unpaired devices:\n${left.removed.map((e) => `  ${e}`).join('\n')}\n`);
    } catch (error) {
      process.stderr.write(`trust-agent simulate: ${error instanceof Error ? error.message : String(error)}\n`);
      return 2;
    }
  }
  const outDir = resolve(args.out ?? join('reports', scenario.name));
  const realtime = (args.speed ?? scenario.speed) === 'realtime';
  if (realtime) scenario = startingAt(scenario, Math.floor(Date.now() / 1000) * 1000);
  const keysOut = args.keysOut ?? (realtime || unpaired.length > 0 ? join(outDir, 'attach') : undefined);
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
    ...(keysOut === undefined ? {} : { keysOut: resolve(keysOut), onAttach: (files: AttachFiles) => printAttach(files) }),
    ...(unpaired.length === 0 ? {} : { unpaired }),
    onProgress: (sample) => progress.update(sample),
    onLog: (line) => { if (tty) progress.log(line); },
  });
  progress.finish();
  const files = await writeReports(outDir, result);
  if (args.json) process.stdout.write(reportToJson(result.report));
  else process.stdout.write(summary(result, files, process.stdout.isTTY === true));
  return result.report.passed ? 0 : 1;
}

async function reseed(path: string, scenario: Scenario, seed: number): Promise<Scenario> {
  const raw = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  const parsed = parseScenario(JSON.stringify({ ...raw, seed }), path);
  return parsed.ok ? attachTraces(parsed.scenario, path) : scenario;
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

/** Where the attach files are, on standard error as soon as the broker is up (a realtime run lasts hours). */
function printAttach(files: AttachFiles): void {
  const ws = files.wsUrl === undefined ? '' : `, ${files.wsUrl}`;
  process.stderr.write(`Attach files (broker ${files.brokerUrl}${ws}, CA, collector keys, device keys, pairing QR): ${rel(files.dir)} (see README.txt there)\n`);
}
