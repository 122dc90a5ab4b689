import { readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import type { SimulateArgs } from '../cli-args.js';
import { createProgress } from '../progress.js';
import type { Scenario } from '../scenario/types.js';
import { devicesOfShard, type ShardSpec } from './assign.js';
import { writeShardFile } from './file.js';
import { runShard } from './run.js';

/** `simulate --shard i/n`: run one slice against the external broker, write shard.json and the device pages. */
export async function runShardCli(whole: Scenario, args: SimulateArgs, spec: ShardSpec): Promise<number> {
  const broker = args.broker;
  if (broker === undefined) throw new Error('--shard needs --broker');
  const outDir = resolve(args.out ?? join('reports', whole.name, `shard-${spec.index}-of-${spec.count}`));
  const caPem = args.ca === undefined ? undefined : await readFile(args.ca, 'utf8');
  const tty = process.stderr.isTTY === true && !args.quiet;
  const progress = createProgress({ stream: process.stderr, isTTY: tty, startMs: whole.startMs, endMs: whole.endMs });
  const mine = devicesOfShard(whole, spec);
  if (!args.quiet) {
    process.stderr.write(`Scenario ${whole.name}, shard ${spec.index}/${spec.count}: ${mine.length} of ${whole.devices.length} devices, seed ${whole.seed}, broker ${broker}\n`);
  }
  let result;
  try {
    result = await runShard(whole, spec, {
      broker: { url: broker, ...(caPem === undefined ? {} : { caPem }) },
      ...(args.stepMs === undefined ? {} : { stepMs: args.stepMs }),
      ...(args.shardWaitMs === undefined ? {} : { waitForShardsMs: args.shardWaitMs }),
      outDir,
      onProgress: (sample) => progress.update(sample),
      onLog: (line) => {
        if (tty) progress.log(line);
        else if (!args.quiet && line.startsWith('waiting')) process.stderr.write(`${line}\n`);
      },
    });
  } finally {
    progress.finish();
  }
  const path = await writeShardFile(outDir, result.file);
  const r = result.file.runtime;
  if (args.json) process.stdout.write(`${JSON.stringify({ shard: spec, devices: mine, file: path, runtime: r })}\n`);
  else {
    process.stdout.write([
      `Shard ${spec.index}/${spec.count} done: ${mine.join(', ')}`,
      `  ${r.readings} readings in ${(r.wallMs / 1000).toFixed(1)} s, ${result.file.evidence.delivered.length} readings delivered by this shard's collector (of any shard's devices)${r.stalls > 0 ? `, ${r.stalls} network stalls` : ''}`,
      `Evidence      ${rel(path)}`,
      `Judge the fleet once every shard has finished: trust-agent report merge <the ${spec.count} shard directories> --out DIR`,
      '',
    ].join('\n'));
  }
  return 0;
}

function rel(path: string): string {
  const r = relative(process.cwd(), path);
  return r.startsWith('..') ? path : r;
}
