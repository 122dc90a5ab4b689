import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderHtmlReport, renderJunitXml, reportToJson, withoutRuntime, RUNTIME_BEGIN, RUNTIME_END } from '../simulator/report/index.js';
import { runSimulation } from '../simulator/run/index.js';
import { DAY, scenario } from './simulator-run-support.js';

const RUNS = Number(process.env.DETERMINISM_RUNS ?? 10);
const out = mkdtempSync(join(tmpdir(), 'sim-determinism-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** Every file a run writes (device pages, compliance, audit trails) plus the three reports, runtime parts removed. */
function filesOf(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else files.set(relative(dir, path), readFileSync(path).toString('latin1'));
    }
  };
  walk(dir);
  return files;
}

describe('determinism: the same scenario and seed give the same reports', () => {
  it(`the default scenario, ${RUNS} runs (compressed to 12 virtual hours, every event for real): report.json, junit.xml, HTML and device files identical apart from the runtime part`, async () => {
    const s = await scenario('default', DAY / 2);
    const first: Map<string, string>[] = [];
    for (let i = 0; i < RUNS; i++) {
      const dir = join(out, `run-${i}`);
      const result = await runSimulation(s, { outDir: join(dir, 'files') });
      expect(result.runtime.stalls, `run ${i}`).toBe(0);
      const texts = filesOf(join(dir, 'files'));
      texts.set('report.json', withoutRuntime(reportToJson(result.report)));
      texts.set('junit.xml', withoutRuntime(renderJunitXml(result.report)));
      texts.set('index.html', withoutRuntime(renderHtmlReport(result.report)));
      // The runtime part exists and is the only part left out.
      expect(renderHtmlReport(result.report)).toContain(RUNTIME_BEGIN);
      expect(renderJunitXml(result.report)).toContain(RUNTIME_END);
      if (first.length === 0) {
        first.push(texts);
        continue;
      }
      const reference = first[0] ?? new Map<string, string>();
      expect([...texts.keys()].sort(), `run ${i}: the same files`).toEqual([...reference.keys()].sort());
      for (const [name, text] of texts) expect(text, `run ${i}: ${name}`).toBe(reference.get(name));
    }
  }, 600_000);
});
