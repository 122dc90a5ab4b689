import { escapeXml } from './files.js';
import type { SimulationReport } from './model.js';

/** Hand-drawn SVG charts for the HTML report: no library, no script, no network. */
const INK = '#1f2933';
const MUTED = '#7b8794';
const GRID = '#e4e7eb';
export const MARKER_COLOURS: Record<string, string> = {
  preference: '#2f6fde', outage: '#d64545', device: '#c2410c', policy: '#7c3aed', rights: '#0f766e', hostile: '#b91c1c', clock: '#a16207',
};

const esc = escapeXml;
const text = (x: number, y: number, s: string, attrs = ''): string =>
  `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${esc(s)}</text>`;

function dayLabel(ms: number): string {
  return new Date(ms).toISOString().slice(5, 16).replace('T', ' ');
}

/** Heat strips: one row per category, one cell per time bucket, darker = more readings; events as vertical lines. */
export function readingsChart(report: SimulationReport): string {
  const { readings, markers } = report;
  const labelW = 230;
  const plotW = 820;
  const rowH = 18;
  const top = 88;
  const rows = readings.series;
  const height = top + rows.length * rowH + 40;
  const cellW = plotW / Math.max(1, readings.buckets);
  const xOf = (ms: number): number => labelW + ((ms - readings.startMs) / (readings.bucketMs * readings.buckets)) * plotW;
  const parts: string[] = [];
  rows.forEach((row, r) => {
    const y = top + r * rowH;
    const max = Math.max(1, ...row.counts);
    const total = row.counts.reduce((a, b) => a + b, 0);
    parts.push(text(labelW - 8, y + rowH * 0.7, row.key, `text-anchor="end" font-size="12" fill="${total ? INK : MUTED}"`));
    parts.push(`<rect x="${labelW}" y="${y + 1}" width="${plotW}" height="${rowH - 2}" fill="#f5f7fa"/>`);
    row.counts.forEach((count, i) => {
      if (count === 0) return;
      const alpha = 0.2 + 0.8 * Math.sqrt(count / max);
      parts.push(`<rect x="${(labelW + i * cellW).toFixed(1)}" y="${y + 1}" width="${Math.max(cellW, 0.8).toFixed(2)}" height="${rowH - 2}" fill="#0b7285" fill-opacity="${alpha.toFixed(2)}"/>`);
    });
    parts.push(text(labelW + plotW + 6, y + rowH * 0.7, total === 0 ? '—' : String(total), `font-size="11" fill="${MUTED}"`));
  });
  const bottom = top + rows.length * rowH;
  let lastX = -Infinity;
  let lane = 0;
  markers.forEach((m, i) => {
    const x = xOf(m.at);
    const colour = MARKER_COLOURS[m.kind] ?? INK;
    // Events close together get their numbered dots on alternating lanes so the numbers stay readable.
    lane = x - lastX < 18 ? (lane + 1) % 4 : 0;
    lastX = x;
    const cy = top - 13 - lane * 18;
    parts.push(`<line x1="${x.toFixed(1)}" y1="${cy + 8}" x2="${x.toFixed(1)}" y2="${bottom}" stroke="${colour}" stroke-width="1.5" stroke-dasharray="4 2"><title>${esc(m.label)}</title></line>`);
    parts.push(`<circle cx="${x.toFixed(1)}" cy="${cy}" r="8" fill="${colour}"/>`);
    parts.push(text(x, cy + 4, String(i + 1), 'text-anchor="middle" font-size="10" fill="#fff" font-weight="bold"'));
  });
  const days = Math.round((readings.bucketMs * readings.buckets) / 86_400_000);
  const ticks = days >= 2 ? days : 4;
  for (let i = 0; i <= ticks; i++) {
    const ms = readings.startMs + (i / ticks) * readings.bucketMs * readings.buckets;
    const x = xOf(ms);
    parts.push(`<line x1="${x}" y1="${bottom}" x2="${x}" y2="${bottom + 5}" stroke="${MUTED}"/>`);
    parts.push(text(x, bottom + 18, dayLabel(ms), `text-anchor="middle" font-size="11" fill="${MUTED}"`));
  }
  return svg(labelW + plotW + 50, height, parts, 'Delivered readings per category over time, with scenario events marked');
}

/** Oldest record seen on any device per category, against the category's retention limit (the 100 % line). */
export function storageChart(report: SimulationReport): string {
  const labelW = 230;
  const plotW = 600;
  const rowH = 22;
  const rows = report.storage;
  const top = 20;
  const parts: string[] = [];
  const scale = (f: number): number => labelW + Math.min(f, 1.2) / 1.2 * plotW;
  rows.forEach((row, r) => {
    const y = top + r * rowH;
    const f = row.retentionMs > 0 ? row.maxAgeMs / row.retentionMs : 0;
    parts.push(text(labelW - 8, y + 15, row.key, `text-anchor="end" font-size="12" fill="${INK}"`));
    parts.push(`<rect x="${labelW}" y="${y + 4}" width="${plotW}" height="${rowH - 8}" fill="#f5f7fa"/>`);
    parts.push(`<rect x="${labelW}" y="${y + 4}" width="${(scale(f) - labelW).toFixed(1)}" height="${rowH - 8}" fill="${f > 1 ? '#d64545' : '#3b82a0'}"/>`);
    parts.push(text(labelW + plotW + 8, y + 15, `${fmtAge(row.maxAgeMs)} of ${fmtAge(row.retentionMs)} · max ${row.maxCount} records`, `font-size="11" fill="${MUTED}"`));
  });
  const limitX = scale(1);
  const bottom = top + rows.length * rowH;
  parts.push(`<line x1="${limitX}" y1="${top}" x2="${limitX}" y2="${bottom}" stroke="#d64545" stroke-width="2"/>`);
  parts.push(text(limitX, bottom + 16, 'retention limit', `text-anchor="middle" font-size="11" fill="#d64545"`));
  parts.push(text(labelW, bottom + 16, '0', `font-size="11" fill="${MUTED}"`));
  return svg(labelW + plotW + 260, bottom + 26, parts, 'Oldest data stored on devices against retention limits');
}

export function fmtAge(ms: number): string {
  if (ms >= 86_400_000) return `${(ms / 86_400_000).toFixed(ms >= 864_000_000 ? 0 : 1)} d`;
  if (ms >= 3_600_000) return `${(ms / 3_600_000).toFixed(1)} h`;
  if (ms >= 60_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Vertical bars with a label under each and the value above. */
export function barChart(labels: string[], values: number[], title: string, colour = '#3b82a0'): string {
  const w = 520;
  const h = 220;
  const left = 50;
  const bottom = h - 40;
  const max = Math.max(1, ...values);
  const slot = (w - left - 10) / Math.max(1, values.length);
  const parts: string[] = [`<line x1="${left}" y1="${bottom}" x2="${w - 10}" y2="${bottom}" stroke="${MUTED}"/>`];
  for (let g = 1; g <= 4; g++) {
    const y = bottom - (g / 4) * (bottom - 20);
    parts.push(`<line x1="${left}" y1="${y}" x2="${w - 10}" y2="${y}" stroke="${GRID}"/>`);
    parts.push(text(left - 6, y + 4, String(Math.round((g / 4) * max)), `text-anchor="end" font-size="10" fill="${MUTED}"`));
  }
  values.forEach((v, i) => {
    const bh = (v / max) * (bottom - 20);
    const x = left + i * slot + slot * 0.15;
    parts.push(`<rect x="${x.toFixed(1)}" y="${(bottom - bh).toFixed(1)}" width="${(slot * 0.7).toFixed(1)}" height="${bh.toFixed(1)}" fill="${colour}"><title>${esc(`${labels[i] ?? ''}: ${v}`)}</title></rect>`);
    parts.push(text(x + slot * 0.35, bottom - bh - 4, String(v), `text-anchor="middle" font-size="10" fill="${INK}"`));
    parts.push(text(x + slot * 0.35, bottom + 16, labels[i] ?? '', `text-anchor="middle" font-size="11" fill="${INK}"`));
  });
  return svg(w, h, parts, title);
}

/** Per hostile kind: rejected (green) and accepted (red) side by side in one stacked bar. */
export function rejectedChart(report: SimulationReport): string {
  if (report.rejected.length === 0) return '<p class="muted">No hostile inputs in this scenario.</p>';
  const w = 520;
  const rowH = 28;
  const labelW = 110;
  const plotW = 300;
  const max = Math.max(1, ...report.rejected.map((r) => r.sent));
  const parts: string[] = [];
  report.rejected.forEach((r, i) => {
    const y = 10 + i * rowH;
    const okW = (r.rejected / max) * plotW;
    const badW = ((r.sent - r.rejected) / max) * plotW;
    parts.push(text(labelW - 8, y + 17, r.kind, `text-anchor="end" font-size="12" fill="${INK}"`));
    parts.push(`<rect x="${labelW}" y="${y + 4}" width="${okW.toFixed(1)}" height="${rowH - 8}" fill="#2f9e44"/>`);
    if (badW > 0) parts.push(`<rect x="${(labelW + okW).toFixed(1)}" y="${y + 4}" width="${badW.toFixed(1)}" height="${rowH - 8}" fill="#d64545"/>`);
    parts.push(text(labelW + okW + badW + 6, y + 17, `${r.rejected}/${r.sent} rejected`, `font-size="11" fill="${MUTED}"`));
  });
  return svg(w, 20 + report.rejected.length * rowH, parts, 'Hostile inputs rejected by kind');
}

function svg(width: number, height: number, parts: string[], title: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 ${width} ${height}" width="100%" style="max-width:${width}px" font-family="system-ui, sans-serif"><title>${esc(title)}</title>${parts.join('')}</svg>`;
}
