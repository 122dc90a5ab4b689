import type { Verdict } from '../verdicts/evidence.js';

/** A plain aligned table for the terminal: one row per verdict, PASS/FAIL, counts and the summary. */
export function renderSummaryTable(verdicts: readonly Verdict[], options: { color?: boolean } = {}): string {
  const paint = (text: string, code: number): string => (options.color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const header = ['Verdict', 'Result', 'Checked', 'Violations', 'Summary'];
  // The short id keeps the table narrow enough for a terminal; the HTML report shows the full titles.
  const rows = verdicts.map((v) => [v.id, v.pass ? 'PASS' : 'FAIL', String(v.checked), String(v.violations), v.summary]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  // Only a row's PASS/FAIL cell is painted; the header's "Result" is a label, not a failure.
  const line = (cells: string[], isRow = true): string => cells
    .map((c, i) => {
      const w = widths[i] ?? 0;
      const padded = i === 2 || i === 3 ? c.padStart(w) : c.padEnd(w);
      return i === 1 && isRow ? paint(padded, c === 'PASS' ? 32 : 31) : padded;
    })
    .join('  ')
    .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  const failed = verdicts.filter((v) => !v.pass).length;
  const footer = failed === 0 ? `All ${verdicts.length} verdicts passed.` : `${failed} of ${verdicts.length} verdicts FAILED.`;
  return [line(header, false), rule, ...rows.map((r) => line(r)), rule, footer].join('\n') + '\n';
}
