import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { nodeRandom } from '../agent/adapters/node/random.js';
import { wireRandom } from '../agent/crypto/random.js';
import { fuzzTarget, replay } from './fuzz.js';
import { TARGETS } from './targets.js';

const HELP = `npm run fuzz [-- options]

Fuzzes the owner command (cmd), pairing and collector inputs: structure-aware generation plus mutation of the
corpus in fuzz/corpus/<target>/. Invariants per input: only TrustError escapes, decode work at most 4 (pairing: 6)
units per input byte, a refused input changes no state, no input takes longer than --hang-ms.

  --target <name>     cmd, pairing or collector (repeatable; default: all)
  --seconds <n>       time budget per target (default 10)
  --iterations <n>    stop a target after n inputs (default: no limit)
  --seed <n>          PRNG seed; same seed, same inputs (default 1)
  --hang-ms <n>       wall-clock limit per input (default 1000)
  --replay <file>     feed one saved input to every chosen target and report
  --write-seeds       (re)write each target's seed inputs into fuzz/corpus/<target>/
  -h, --help          this text

Failures are written to fuzz/failures/<target>-<kind>-<hash>.cbor; the exit code is 1 if there was any.`;

const CORPUS = 'fuzz/corpus';
const FAILURES = 'fuzz/failures';

function loadDir(dir: string): Uint8Array[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).sort().map((file) => new Uint8Array(readFileSync(join(dir, file))));
}

const hash = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex').slice(0, 16);

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      target: { type: 'string', multiple: true }, seconds: { type: 'string' }, iterations: { type: 'string' }, seed: { type: 'string' },
      'hang-ms': { type: 'string' }, replay: { type: 'string' }, 'write-seeds': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help === true) {
    console.log(HELP);
    return 0;
  }
  const number = (text: string | undefined, fallback: number, name: string): number => {
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`--${name} must be a whole number`);
    return value;
  };
  const names = values.target ?? TARGETS.map((t) => t.name);
  const targets = names.map((name) => {
    const target = TARGETS.find((t) => t.name === name);
    if (target === undefined) throw new Error(`unknown target '${name}'; targets: ${TARGETS.map((t) => t.name).join(', ')}`);
    return target;
  });
  wireRandom(nodeRandom());
  if (values['write-seeds'] === true) {
    for (const target of targets) {
      mkdirSync(join(CORPUS, target.name), { recursive: true });
      for (const seed of target.seeds()) writeFileSync(join(CORPUS, target.name, `seed-${hash(seed)}.cbor`), seed);
    }
    return 0;
  }
  if (values.replay !== undefined) {
    const input = new Uint8Array(readFileSync(values.replay));
    let failed = 0;
    for (const target of targets) {
      const failures = await replay(target, [input]);
      failed += failures.length;
      console.log(`${target.name}: ${failures.length === 0 ? 'ok' : failures.map((f) => `${f.kind}: ${f.detail}`).join('; ')}`);
    }
    return failed === 0 ? 0 : 1;
  }
  const seconds = number(values.seconds, 10, 'seconds');
  const iterations = values.iterations === undefined ? undefined : number(values.iterations, 0, 'iterations');
  const seed = number(values.seed, 1, 'seed');
  const hangMs = number(values['hang-ms'], 1000, 'hang-ms');
  let failed = 0;
  for (const target of targets) {
    const report = await fuzzTarget(target, { seed, budgetMs: seconds * 1000, hangMs, corpus: loadDir(join(CORPUS, target.name)), ...(iterations === undefined ? {} : { iterations }) });
    const rate = report.iterations / (report.elapsedMs / 1000);
    console.log(`${target.name.padEnd(10)} seed ${seed}: ${report.iterations} inputs in ${(report.elapsedMs / 1000).toFixed(1)} s (${rate.toFixed(0)}/s), ` +
      `${report.accepted} accepted, largest ${report.maxInputBytes} B, max decode work ${report.maxWorkPerByte.toFixed(2)}/byte, ` +
      `slowest input ${report.maxInputMs.toFixed(1)} ms, ${report.failures.length} failures`);
    for (const failure of report.failures) {
      mkdirSync(FAILURES, { recursive: true });
      const file = join(FAILURES, `${target.name}-${failure.kind}-${hash(failure.input)}.cbor`);
      writeFileSync(file, failure.input);
      console.log(`  ${failure.kind} at input ${failure.iteration}: ${failure.detail} -> ${file}`);
    }
    failed += report.failures.length;
  }
  return failed === 0 ? 0 : 1;
}

main().then((code) => process.exit(code), (error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(2);
});
