import { cp, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { buildReport, renderSummaryTable, reportToJson, writeHtmlReport, writeJsonReport, writeJunitXml } from '../simulator/report/index.js';
import type { ReportRuntime } from '../simulator/report/model.js';
import { readShardFile } from '../simulator/shard/file.js';
import { MergeRefusal, mergeShards, type LoadedShard } from '../simulator/shard/merge.js';
import { checkVerdicts } from '../simulator/verdicts/index.js';
import { HELP_OPTION, parseCli, type OptionSpecs } from './args.js';

const USAGE = `trust-agent report <action> [options]

Actions:
  merge DIR...          judge a sharded simulation: DIR are the --out directories of every 'simulate --shard I/N'
                        run of one fleet (each holds shard.json). Writes report.json, junit.xml, index.html and the
                        shards' devices/<id>/ pages into --out, with the verdicts a one-process run gives.
      --out DIR         where the merged report goes (default: reports/<scenario-name>/)
      --json            print the JSON report on standard output instead of the summary
      --quiet           nothing on standard output but --json

Refused (nothing written, the reason on standard error): shard files of different versions, scenarios, seeds or
shard counts, shards that overlap (a device in two) and shards that do not cover the fleet (a device in none).
Exit status: 0 every verdict passed, 1 a verdict failed, 2 usage error, 3 the shards cannot be merged.
`;

const MERGE_OPTIONS = { out: { type: 'string' }, json: { type: 'boolean' }, quiet: { type: 'boolean' }, ...HELP_OPTION } as const satisfies OptionSpecs;

export async function runReportCli(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  if (action === undefined || action === '--help' || action === '-h' || action === 'help') {
    process.stdout.write(USAGE);
    return action === undefined ? 2 : 0;
  }
  if (action !== 'merge') {
    process.stderr.write(`trust-agent report: unknown action '${action}'\n\n${USAGE}`);
    return 2;
  }
  let parsed;
  try {
    parsed = parseCli(rest, MERGE_OPTIONS);
  } catch (error) {
    process.stderr.write(`trust-agent report merge: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (parsed.values.help === true) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (parsed.positionals.length === 0) {
    process.stderr.write(`trust-agent report merge: give the shard directories (the --out of every 'simulate --shard' run)\n\n${USAGE}`);
    return 2;
  }
  return merge(parsed.positionals, parsed.values);
}

async function merge(dirs: string[], options: { out?: string; json?: boolean; quiet?: boolean }): Promise<number> {
  let shards: LoadedShard[];
  let evidence;
  try {
    shards = await Promise.all(dirs.map(async (dir) => ({ source: dir, file: await readShardFile(dir) })));
    evidence = mergeShards(shards);
  } catch (error) {
    process.stderr.write(`trust-agent report merge: refused: ${(error as Error).message}\n`);
    return error instanceof MergeRefusal || error instanceof Error ? 3 : 1;
  }
  const verdicts = checkVerdicts(evidence);
  const outDir = resolve(options.out ?? join('reports', evidence.scenario.name));
  await mkdir(outDir, { recursive: true });
  const deviceReports: Record<string, string> = {};
  for (const { source, file } of shards) {
    for (const [id, page] of Object.entries(file.deviceReports)) {
      await cp(join(source, 'devices', id), join(outDir, 'devices', id), { recursive: true });
      deviceReports[id] = page;
    }
  }
  const report = buildReport(evidence, verdicts, { deviceReports, runtime: mergedRuntime(shards) });
  await writeJsonReport(join(outDir, 'report.json'), report);
  await writeJunitXml(join(outDir, 'junit.xml'), report);
  const html = await writeHtmlReport(outDir, report);
  if (options.json === true) process.stdout.write(reportToJson(report));
  else if (options.quiet !== true) {
    process.stdout.write(`\n${renderSummaryTable(verdicts, { color: process.stdout.isTTY === true })}`);
    process.stdout.write(`Merged ${shards.length} shards of ${evidence.scenario.name} (seed ${evidence.scenario.seed}): ${evidence.scenario.devices.length} devices, ${report.totals.delivered} readings delivered.\n`);
    process.stdout.write(`JSON report   ${join(outDir, 'report.json')}\nJUnit XML     ${join(outDir, 'junit.xml')}\nHTML report   ${html}\n`);
  }
  return report.passed ? 0 : 1;
}

/** Real-time facts of the shards: the longest wall time, the sums of the rest, and which shard took how long. */
function mergedRuntime(shards: readonly LoadedShard[]): ReportRuntime {
  const runtimes = shards.map((s) => s.file.runtime);
  const sum = (pick: (r: (typeof runtimes)[number]) => number): number => runtimes.reduce((n, r) => n + pick(r), 0);
  const wallMs = Math.max(...runtimes.map((r) => r.wallMs));
  const walls = shards.map((s) => `${s.file.shard.index}/${s.file.shard.count} ${(s.file.runtime.wallMs / 1000).toFixed(1)} s`).join(', ');
  return {
    wallMs, readingsPerSecond: Math.round(sum((r) => r.readings) / Math.max(0.001, wallMs / 1000)),
    stalls: sum((r) => r.stalls), unanswered: sum((r) => r.unanswered), wireCopies: sum((r) => r.wireCopies),
    note: `${shards.length} shards on broker ${runtimes[0]?.broker ?? ''} (wall time: ${walls})`,
  };
}
