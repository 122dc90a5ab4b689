import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatDuration } from '../scenario/duration.js';
import { RUNTIME_BEGIN, RUNTIME_END, escapeXml as esc } from './files.js';
import type { SimulationReport } from './model.js';
import { MARKER_COLOURS, barChart, fmtAge, readingsChart, rejectedChart, storageChart } from './svg.js';

const CSS = `
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2933;margin:0;background:#fff;line-height:1.45}
main{max-width:1140px;margin:0 auto;padding:24px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:32px 0 8px;border-bottom:1px solid #e4e7eb;padding-bottom:4px}
.muted{color:#616e7c}.badge{display:inline-block;padding:2px 10px;border-radius:4px;font-weight:700;color:#fff}
.pass{background:#2f9e44}.fail{background:#d64545}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}.card{border:1px solid #e4e7eb;border-radius:6px;padding:8px 14px;min-width:120px}
.card b{display:block;font-size:20px}
table{border-collapse:collapse;width:100%;font-size:14px}th,td{border-bottom:1px solid #e4e7eb;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#f5f7fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
pre{background:#f5f7fa;padding:8px;overflow-x:auto;font-size:12px;max-height:240px;margin:4px 0}
ol.events{columns:2;font-size:13px}ol.events li{margin-bottom:2px}.dot{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:4px}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:24px}
`;

/** Evidence is easier to read with times as ISO strings (the JSON report keeps the raw milliseconds). */
function readableTimes(key: string, value: unknown): unknown {
  return typeof value === 'number' && (key === 'at' || key.endsWith('At')) && value > 1e11 ? new Date(value).toISOString() : value;
}

function verdictRows(report: SimulationReport): string {
  return report.verdicts.map((v) => {
    const evidence = v.firstOffending === undefined && v.details === undefined ? ''
      : `<details${v.pass ? '' : ' open'}><summary>evidence</summary><pre>${esc(JSON.stringify({ details: v.details, firstOffending: v.firstOffending }, readableTimes, 2))}</pre></details>`;
    return `<tr><td>${esc(v.title)}</td><td><span class="badge ${v.pass ? 'pass' : 'fail'}">${v.pass ? 'PASS' : 'FAIL'}</span></td>`
      + `<td class="num">${v.checked}</td><td class="num">${v.violations}</td><td>${esc(v.summary)}${evidence}</td></tr>`;
  }).join('\n');
}

function eventList(report: SimulationReport): string {
  if (report.markers.length === 0) return '<p class="muted">No scripted events.</p>';
  const items = report.markers.map((m) => `<li><span class="dot" style="background:${MARKER_COLOURS[m.kind] ?? '#333'}"></span>`
    + `${esc(new Date(m.at).toISOString().slice(0, 16).replace('T', ' '))} — ${esc(m.label)}</li>`);
  return `<ol class="events">${items.join('')}</ol>`;
}

function deviceList(report: SimulationReport): string {
  const rows = report.devices.map((d) => {
    const delivered = Object.entries(d.delivered).map(([c, n]) => `${esc(c)} ${n}`).join(' · ');
    return `<tr><td>${esc(d.id)}</td><td>${esc(d.type)}</td><td>${delivered === '' ? '<span class="muted">none</span>' : delivered}</td><td>${d.reportPath === undefined
      ? '<span class="muted">—</span>' : `<a href="${esc(d.reportPath)}">${esc(d.reportPath)}</a>`}</td></tr>`;
  });
  return `<table><tr><th>Device</th><th>Type</th><th>Readings delivered per category</th><th>Device report</th></tr>${rows.join('')}</table>`;
}

/** The whole report as one self-contained HTML page: inline CSS and inline SVG only, opens from disk offline. */
export function renderHtmlReport(report: SimulationReport): string {
  const s = report.scenario;
  const t = report.totals;
  const failed = report.verdicts.filter((v) => !v.pass).length;
  const card = (label: string, value: string): string => `<div class="card"><span class="muted">${esc(label)}</span><b>${esc(value)}</b></div>`;
  const d = report.delays;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Simulator report: ${esc(s.name)}</title><style>${CSS}</style></head>
<body><main>
<h1>Scenario <code>${esc(s.name)}</code> <span class="badge ${report.passed ? 'pass' : 'fail'}">${report.passed ? 'ALL VERDICTS PASS' : `${failed} VERDICT${failed === 1 ? '' : 'S'} FAIL`}</span></h1>
<p class="muted">${esc(s.description)}</p>
<p>Seed <b>${s.seed}</b> · ${esc(new Date(s.startMs).toISOString())} + ${esc(formatDuration(s.durationMs))} (${esc(s.speed)}) · broker ${esc(s.broker)} · ${report.devices.length} devices${s.source === undefined ? '' : ` · ${esc(s.source)}`}</p>
<div class="cards">${card('accepted for transmit', String(t.accepted))}${card('delivered', String(t.delivered))}${card('wire messages', String(t.wireMessages))}${card('wire bytes', String(t.wireBytes))}${card('hostile rejected', `${t.hostileRejected}/${t.hostileSent}`)}</div>
<h2>Verdicts</h2>
<p class="muted">Checked: how many items a verdict examined (readings, stored-record rows, messages, requests); the summary says what they are and how they add up.</p>
<table><tr><th>Verdict</th><th>Result</th><th>Checked</th><th>Violations</th><th>Summary and evidence</th></tr>
${verdictRows(report)}
</table>
<h2>Readings per category over time</h2>
<p class="muted">Each row is a data category; darker cells hold more delivered readings (by the reading's own time). Numbered lines are scenario events, listed below. A category that is off shows as an empty row.</p>
${readingsChart(report)}
${eventList(report)}
<h2>Data stored on devices against retention limits</h2>
<p class="muted">Bar: the stored record of the category closest to its limit in any device store sample, as a share of the limit in force for it (red line): the owner's choice where the owner chose one, else the registry maximum. A red bar would be a violation.</p>
${storageChart(report)}
<div class="grid2"><section>
<h2>Delivery delay</h2>
<p class="muted">Time from a reading's timestamp to its arrival at the collector. Median ${esc(fmtAge(d.p50Ms))}, 95th percentile ${esc(fmtAge(d.p95Ms))}, max ${esc(fmtAge(d.maxMs))}. Outages and aggregation windows push readings to the right.</p>
${barChart(d.labels, d.counts, 'Delivery delay histogram')}
</section><section>
<h2>Rejected inputs</h2>
<p class="muted">Hostile commands sent to devices by kind: green rejected, red accepted (a violation).</p>
${rejectedChart(report)}
</section></div>
<h2>Devices</h2>
${deviceList(report)}
${runtimeSection(report)}
</main></body></html>
`;
}

/** Write `index.html` into `dir` and return its path. */
export async function writeHtmlReport(dir: string, report: SimulationReport): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'index.html');
  await writeFile(path, renderHtmlReport(report));
  return path;
}

/** Last, between markers: the only part of the page that differs between runs of the same seed. */
function runtimeSection(report: SimulationReport): string {
  const r = report.runtime;
  if (r === undefined) return '';
  const rows: Array<[string, string]> = [['wall time', `${(r.wallMs / 1000).toFixed(1)} s`]];
  if (r.readingsPerSecond !== undefined) rows.push(['readings per second (wall time)', String(r.readingsPerSecond)]);
  if (r.stalls !== undefined) rows.push(['network waits that gave up', String(r.stalls)]);
  if (r.unanswered !== undefined) rows.push(['owner requests left unanswered', String(r.unanswered)]);
  if (r.wireCopies !== undefined) rows.push(['copies of a message already in the wire log (MQTT redeliveries, repeated announcements)', String(r.wireCopies)]);
  if (r.note !== undefined) rows.push(['note', r.note]);
  return `${RUNTIME_BEGIN}
<section class="runtime"><h2>This run</h2>
<p class="muted">Facts of this run on this machine (real time, the real network). They differ between runs; everything above is the same for the same scenario and seed.</p>
<table>${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table></section>
${RUNTIME_END}`;
}
