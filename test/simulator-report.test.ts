import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createProgress } from '../simulator/progress.js';
import {
  buildReport, renderHtmlReport, renderJunitXml, renderSummaryTable, reportToJson, writeHtmlReport, writeJsonReport, writeJunitXml,
  type SimulationReport,
} from '../simulator/report/index.js';
import { parseScenario } from '../simulator/scenario/loader.js';
import { checkVerdicts, type Evidence, type Verdict } from '../simulator/verdicts/index.js';
import { referenceEvidence } from '../simulator/verdicts/reference.js';

const SCENARIO = {
  name: 'report-probe', seed: 5, duration: '1d',
  fleet: [{ type: 'smart-lock', count: 1, idPrefix: 'lock' }, { type: 'fitness-tracker', count: 1, idPrefix: 'tracker' }],
  events: [
    { at: '1h', type: 'preference', device: 'tracker-1', patch: { 'heart-rate': 'minimised' } },
    { at: '5h', type: 'broker-outage', duration: '1h' },
    { at: '8h', type: 'hostile', device: 'lock-1', kind: 'garbage', count: 4 },
  ],
};

let evidence: Evidence;
let verdicts: Verdict[];
let report: SimulationReport;

beforeAll(() => {
  const parsed = parseScenario(JSON.stringify(SCENARIO), 'report-probe.json');
  if (!parsed.ok) throw new Error('bad fixture');
  evidence = referenceEvidence(parsed.scenario);
  verdicts = checkVerdicts(evidence);
  // One failing verdict, so every output shows a failure with its evidence.
  const hostile = verdicts.find((v) => v.id === 'hostile');
  if (hostile) Object.assign(hostile, { pass: false, violations: 1, summary: '1 of 4 hostile commands violate <&>', firstOffending: { why: 'hostile command accepted' } });
  report = buildReport(evidence, verdicts, { deviceReports: { 'lock-1': 'devices/lock-1.html' }, runtime: { wallMs: 1234 } });
});

/** A strict little XML well-formedness check: balanced tags, quoted attributes, known entities only. */
function parseXml(xml: string): Array<{ name: string; attrs: Record<string, string>; text: string }> {
  const elements: Array<{ name: string; attrs: Record<string, string>; text: string }> = [];
  const stack: string[] = [];
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const token = /<(\/?)([A-Za-z_][\w.-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)|(<!--(?:(?!--)[\s\S])*-->)/gy;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = token.exec(body)) !== null) {
    consumed = token.lastIndex;
    const [, closing, name, attrText, selfClosing, text, comment] = m;
    if (comment !== undefined) continue;
    if (text !== undefined) {
      if (/&(?!(lt|gt|amp|quot|apos);)/.test(text)) throw new Error('bad entity');
      const top = elements[elements.length - 1];
      if (top && stack.length > 0) top.text += text;
      continue;
    }
    if (closing) {
      if (stack.pop() !== name) throw new Error(`mismatched </${name}>`);
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of (attrText ?? '').matchAll(/([\w:-]+)="([^"]*)"/g)) attrs[a[1] ?? ''] = a[2] ?? '';
    elements.push({ name: name ?? '', attrs, text: '' });
    if (!selfClosing) stack.push(name ?? '');
  }
  if (consumed !== body.length || stack.length > 0) throw new Error('not well-formed');
  return elements;
}

describe('terminal summary', () => {
  it('is an aligned table with PASS/FAIL per verdict and a footer', () => {
    const table = renderSummaryTable(verdicts);
    const lines = table.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^Verdict\s+Result\s+Checked\s+Violations\s+Summary$/);
    const resultColumn = lines[0]?.indexOf('Result') ?? -1;
    for (const v of verdicts) {
      const row = lines.find((l) => l.startsWith(`${v.id} `));
      expect(row?.slice(resultColumn, resultColumn + 4)).toBe(v.pass ? 'PASS' : 'FAIL');
    }
    expect(lines[lines.length - 1]).toBe('1 of 9 verdicts FAILED.');
    expect(renderSummaryTable(verdicts, { color: true })).toContain('\u001b[31mFAIL');
  });
});

describe('machine-readable reports', () => {
  it('JUnit XML is well-formed with the right counts and the failure evidence', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sim-report-'));
    await writeJunitXml(join(dir, 'junit.xml'), report);
    const elements = parseXml(await readFile(join(dir, 'junit.xml'), 'utf8'));
    const suite = elements.find((e) => e.name === 'testsuite');
    expect(suite?.attrs).toMatchObject({ tests: '9', failures: '1', name: 'simulator.report-probe' });
    // The wall time is a runtime property (inside the runtime markers), not an attribute of the suite.
    expect(elements.find((e) => e.name === 'property' && e.attrs.name === 'runtime.wallMs')?.attrs.value).toBe('1234');
    expect(elements.filter((e) => e.name === 'testcase')).toHaveLength(9);
    const failure = elements.find((e) => e.name === 'failure');
    expect(failure?.attrs.message).toBe('1 of 4 hostile commands violate &lt;&amp;&gt;');
    expect(failure?.text).toContain('hostile command accepted');
  });

  it('JSON round-trips and is the same for the same seed (apart from runtime)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sim-report-'));
    await writeJsonReport(join(dir, 'report.json'), report);
    const parsed = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as SimulationReport;
    expect(parsed.passed).toBe(false);
    expect(parsed.verdicts.map((v) => v.id)).toEqual(verdicts.map((v) => v.id));
    const again = buildReport(referenceEvidence(evidence.scenario), checkVerdicts(referenceEvidence(evidence.scenario)));
    const first = buildReport(evidence, checkVerdicts(evidence));
    expect(reportToJson(again)).toBe(reportToJson(first));
  });
});

describe('HTML report', () => {
  it('is one self-contained file with the four charts, the verdicts and the device links', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sim-report-'));
    const path = await writeHtmlReport(dir, report);
    const html = await readFile(path, 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<script|<link|@import|src=/i);
    expect(html.match(/https?:\/\/[^"]*/g)?.every((u) => u === 'http://www.w3.org/2000/svg')).toBe(true);
    expect(html.match(/<svg /g)).toHaveLength(4);
    for (const title of ['Delivered readings per category over time', 'Oldest data stored on devices against retention limits', 'Delivery delay histogram', 'Hostile inputs rejected by kind']) {
      expect(html).toContain(`<title>${title}`);
    }
    for (const v of verdicts) expect(html).toContain(v.title);
    expect(html).toContain('1 VERDICT FAIL');
    expect(html).toContain('tracker-1: heart-rate=minimised');
    expect(html).toContain('href="devices/lock-1.html"');
    expect(html).toContain('fitness-tracker · heart-rate');
    expect(html).toContain('&lt;&amp;&gt;');
  });

  it('marks preference changes on the readings chart', () => {
    const html = renderHtmlReport(report);
    const chart = html.slice(html.indexOf('<svg'), html.indexOf('</svg>'));
    expect(chart).toContain('<title>tracker-1: heart-rate=minimised</title>');
    expect(chart).toContain('<title>broker down 1h</title>');
  });
});

describe('progress', () => {
  const sample = (virtualMs: number, readings: number) => ({ virtualMs, devices: 3, online: 2, readings, delivered: readings - 1 });

  it('stays quiet when not a terminal, except for log lines', () => {
    let out = '';
    const p = createProgress({ stream: { write: (s: string) => (out += s) }, isTTY: false, startMs: 0, endMs: 1000 });
    p.update(sample(500, 10));
    p.finish();
    expect(out).toBe('');
    p.log('broker down');
    expect(out).toBe('broker down\n');
  });

  it('draws virtual time, devices and rates in place on a terminal, throttled', () => {
    let out = '';
    let wall = 0;
    const start = Date.UTC(2026, 0, 5);
    const p = createProgress({ stream: { write: (s: string) => (out += s), columns: 200 }, isTTY: true, startMs: start, endMs: start + 86_400_000, now: () => wall });
    wall = 1000;
    p.update(sample(start + 43_200_000, 5000));
    expect(out).toContain('\r');
    expect(out).toContain(' 50%  2026-01-05 12:00  devices 2/3  readings 5000 (5.0k/s)  delivered 4999 (5.0k/s)');
    const before = out;
    wall = 1010;
    p.update(sample(start + 50_000_000, 6000));
    expect(out).toBe(before);
    p.finish();
    expect(out.endsWith('\n')).toBe(true);
  });
});
