import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { SimulationReport } from './model.js';

/** Pretty JSON, stable key order as built (the report is deterministic for a seed apart from `runtime`). */
export function reportToJson(report: SimulationReport): string {
  return JSON.stringify(report, (_key, value: unknown) => (value instanceof Uint8Array ? `<${value.length} bytes>` : value), 2) + '\n';
}

export async function writeJsonReport(path: string, report: SimulationReport): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, reportToJson(report));
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c)
    // XML 1.0 forbids most control characters even when escaped.
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');
}

/** Markers around the runtime part of the XML and HTML reports: everything outside them is the same for a seed. */
export const RUNTIME_BEGIN = '<!-- runtime: facts of this run (real time, real network); they differ between runs -->';
export const RUNTIME_END = '<!-- /runtime -->';

/** The report text without its runtime part (JSON: the `runtime` key; XML and HTML: between the markers). */
export function withoutRuntime(text: string): string {
  if (text.trimStart().startsWith('{')) {
    const report = JSON.parse(text) as Record<string, unknown>;
    delete report.runtime;
    return JSON.stringify(report, null, 2) + '\n';
  }
  const begin = text.indexOf(RUNTIME_BEGIN);
  const end = text.indexOf(RUNTIME_END);
  return begin < 0 || end < begin ? text : text.slice(0, begin) + text.slice(end + RUNTIME_END.length);
}

/**
 * One test suite per scenario, one test case per verdict; a failing verdict is a <failure> with its evidence. The
 * wall time is a property inside the runtime markers, not a `time` attribute, so the rest of the file is the same
 * on every run of a seed.
 */
export function renderJunitXml(report: SimulationReport): string {
  const failures = report.verdicts.filter((v) => !v.pass).length;
  const suite = escapeXml(`simulator.${report.scenario.name}`);
  const cases = report.verdicts.map((v) => {
    const open = `    <testcase classname="${suite}" name="${escapeXml(v.title)}">`;
    if (v.pass) return `${open}\n      <system-out>${escapeXml(v.summary)}</system-out>\n    </testcase>`;
    const body = JSON.stringify({ checked: v.checked, violations: v.violations, firstOffending: v.firstOffending, details: v.details }, null, 2);
    return `${open}\n      <failure message="${escapeXml(v.summary)}" type="${escapeXml(v.id)}">${escapeXml(body)}</failure>\n    </testcase>`;
  });
  const runtime = Object.entries(report.runtime ?? {}).map(([name, value]) => `      <property name="runtime.${escapeXml(name)}" value="${escapeXml(String(value))}"/>`);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="iot-trust-agent simulator" tests="${report.verdicts.length}" failures="${failures}" errors="0">`,
    `  <testsuite name="${suite}" tests="${report.verdicts.length}" failures="${failures}" errors="0" skipped="0">`,
    ...(runtime.length === 0 ? [] : [`    ${RUNTIME_BEGIN}`, '    <properties>', ...runtime, '    </properties>', `    ${RUNTIME_END}`]),
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

export async function writeJunitXml(path: string, report: SimulationReport): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, renderJunitXml(report));
}
