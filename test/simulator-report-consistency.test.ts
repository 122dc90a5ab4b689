import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderSummaryTable, type SimulationReport } from '../simulator/report/index.js';
import { categoriesOf, rulesOf } from '../simulator/verdicts/data-model.js';
import { fmtAge } from '../simulator/report/svg.js';

// One real run through the built CLI, then the terminal output, the HTML pages and report.json are read as a person
// reads them: the same number wherever it appears.
const dir = mkdtempSync(join(tmpdir(), 'sim-consistency-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let terminal = '';
let html = '';
let report: SimulationReport;

beforeAll(async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['dist/cli.js', 'simulate', 'default', '--duration', '1d', '--rescale', '--quiet', '--out', dir], { timeout: 170_000 });
  terminal = stdout;
  html = readFileSync(join(dir, 'index.html'), 'utf8');
  report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as SimulationReport;
}, 180_000);

const text = (s: string): string => s.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ');

describe('the report agrees with itself', () => {
  it('readings delivered per category: terminal device table = HTML device table = HTML chart row total = report.json', () => {
    expect(report.passed).toBe(true);
    const devicesTable = text(html.slice(html.indexOf('Readings delivered per category')));
    let compared = 0;
    for (const device of report.devices) {
      const line = terminal.split('\n').find((l) => l.startsWith(`  ${device.id} `)) ?? '';
      const row = devicesTable.slice(devicesTable.indexOf(` ${device.id} `));
      for (const category of categoriesOf(device)) {
        const n = device.delivered[category] ?? 0;
        expect(line, `${device.id} ${category} in the terminal`).toMatch(new RegExp(`${category} \\w+ \\(${n}\\)`));
        // One device per type here, so the chart row of the type is this device's.
        const chartRow = html.slice(html.indexOf(`>${device.type} · ${category}</text>`));
        expect(/>(\d+|—)<\/text>/.exec(chartRow)?.[1], `${device.id} ${category} in the chart`).toBe(n === 0 ? '—' : String(n));
        if (n > 0) expect(row, `${device.id} ${category} in the HTML device table`).toMatch(new RegExp(`^[^|]*? ${category} ${n}( ·|\\s+devices/)`));
        compared += n;
      }
    }
    expect(compared).toBe(report.totals.delivered);
    // The owner-change table counts the same readings: heart rate was opted in with nothing before, so "since" is all.
    const tracker = report.devices.find((d) => d.id === 'tracker-1');
    expect(terminal).toContain(`heart-rate: nothing before; since: ${tracker?.delivered['heart-rate']} readings`);
  });

  it("retention chart: the owner's 12 h choice for GPS is the drawn limit, not the registry's 1 d; untouched categories keep the maximum", () => {
    const row = (key: string) => report.storage.find((r) => r.key === key);
    expect(row('fitness-tracker · location')?.retentionMs).toBe(12 * 3_600_000);
    expect(html).toMatch(new RegExp(`>[^<]* of ${fmtAge(12 * 3_600_000)} · max \\d+ records</text>`));
    expect(row('thermostat · climate')?.retentionMs).toBe(rulesOf({ type: 'thermostat' }).climate?.maxRetentionMs);
    for (const r of report.storage) expect(r.maxAgeMs, r.key).toBeLessThanOrEqual(r.retentionMs + 60_000);
  });

  it('device page: the signed checkpoints it states agree with its R12 row (or it says how they differ)', () => {
    for (const device of report.devices) {
      const page = text(readFileSync(join(dir, `devices/${device.id}/index.html`), 'utf8'));
      const r12 = Number(/R12 .*? signed checkpoints = (\d+)/.exec(page)?.[1]);
      const stated = /(\d+) signed checkpoints? in the exported file(: (\d+) stored on the device \(as R12 below counts\))?/.exec(page);
      expect(stated, device.id).not.toBeNull();
      expect(Number(stated?.[3] ?? stated?.[1]), device.id).toBe(r12);
    }
  });

  it('terminal: only the rows are coloured; the "Result" header of a passing run is not red', () => {
    const header = renderSummaryTable(report.verdicts, { color: true }).split('\n')[0] ?? '';
    expect(header).toContain('Result');
    expect(header).not.toContain('\u001b[');
    expect(html).not.toMatch(/<th[^>]*class="[^"]*fail/);
  });

  it('"Checked N" says what N is: the parts named in the summary add up to N', () => {
    expect(html).toContain('Checked: how many items a verdict examined');
    for (const v of report.verdicts) {
      expect(v.summary, v.id).toMatch(new RegExp(`^${v.checked} \\D`));
      const parts = /\(((\d+) [^+()]+(?:\([^)]*\))?(?: \+ (\d+) [^+()]+(?:\([^)]*\))?)+)\)/.exec(v.summary);
      if (parts === null) continue;
      const sum = [...(parts[1] ?? '').matchAll(/(?:^| \+ )(\d+) /g)].reduce((n, m) => n + Number(m[1]), 0);
      expect(sum, v.id).toBe(v.checked);
    }
    const withdrawal = report.verdicts.find((v) => v.id === 'withdrawal');
    expect(withdrawal?.summary).toContain(`${report.totals.delivered} delivered readings + `);
  });
});
