import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TrustError } from '../agent/errors.js';
import { fuzzTarget, replay } from '../fuzz/fuzz.js';
import { Rng } from '../fuzz/generate.js';
import { TARGETS, type Target } from '../fuzz/targets.js';

/**
 * The short fuzz budget CI runs on every `npm test` (issue 10 item 9): each target for a fixed number of inputs
 * from a fixed seed (capped at a few seconds on a slow machine), then every saved failure as a regression.
 * `npm run fuzz` is the long run (docs/benchmarks.md, "Fuzzing").
 */
const SHORT: Record<string, number> = { cmd: 200, pairing: 300, collector: 600 };

describe('fuzz targets, short budget', () => {
  for (const target of TARGETS) {
    it(`${target.name}: only TrustError, linear decode work, no state change on refusal`, async () => {
      const corpusDir = join('fuzz/corpus', target.name);
      const corpus = existsSync(corpusDir) ? readdirSync(corpusDir).map((f) => new Uint8Array(readFileSync(join(corpusDir, f)))) : [];
      const report = await fuzzTarget(target, { seed: 20261204, iterations: SHORT[target.name] ?? 200, budgetMs: 6_000, corpus });
      expect(report.failures.map((f) => `${f.kind} at ${f.iteration}: ${f.detail}`)).toEqual([]);
      expect(report.iterations).toBeGreaterThan(20);
    }, 60_000);
  }

  it('every saved failure replays clean (regressions)', async () => {
    const dir = 'fuzz/failures';
    const files = existsSync(dir) ? readdirSync(dir) : [];
    for (const file of files) {
      const target = TARGETS.find((t) => file.startsWith(`${t.name}-`));
      if (target === undefined) continue;
      expect(await replay(target, [new Uint8Array(readFileSync(join(dir, file)))]), file).toEqual([]);
    }
  });
});

describe('the fuzzer finds what it looks for', () => {
  /** A target with planted bugs: a TypeError on inputs starting 0xff, and state changed by refused 0xfe inputs. */
  const planted: Target = {
    name: 'planted',
    workPerByte: 4,
    seeds: () => [Uint8Array.of(1, 2, 3)],
    generate: (rng: Rng) => Uint8Array.of(rng.pick([0xff, 0xfe, 0x00]), ...rng.bytes(3)),
    async setUp() {
      let state = 0;
      return {
        state: () => String(state),
        async run(bytes) {
          if (bytes[0] === 0xff) throw new TypeError('planted');
          if (bytes[0] === 0xfe) state++;
          throw new TrustError('MALFORMED', 'refused');
        },
      };
    },
  };

  it('reports a non-TrustError throw and a state change on refusal, with the input', async () => {
    const report = await fuzzTarget(planted, { seed: 1, iterations: 50 });
    expect(new Set(report.failures.map((f) => f.kind))).toEqual(new Set(['throw', 'state']));
    expect(report.failures.find((f) => f.kind === 'throw')?.input[0]).toBe(0xff);
  });
});
