import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { complianceToMarkdown, verifyTrail, type ComplianceReport, type VerifyResult } from '../../agent/audit/index.js';
import { escapeXml as esc } from '../report/files.js';
import type { AuditTrailResult } from '../verdicts/evidence.js';

export interface DeviceFiles {
  /** Path of the device page, relative to the report directory. */
  page: string;
  trail: AuditTrailResult;
}

/** Verify the exported trail off the device (current key plus the keys of earlier owners' eras). */
export function verifyExportedTrail(deviceId: string, bytes: Uint8Array, signKey: Uint8Array, previousKeys: Uint8Array[]): { result: VerifyResult; trail: AuditTrailResult } {
  const result = verifyTrail(bytes, signKey, { previousKeys });
  const trail: AuditTrailResult = { deviceId, ok: result.ok, entries: result.entries };
  if (result.firstBreak !== undefined) trail.firstBreak = JSON.stringify(result.firstBreak);
  return { result, trail };
}

/** Writes devices/<id>/{compliance.md, audit-trail.bin, audit-verify.json, index.html}. */
export async function writeDeviceFiles(
  dir: string, deviceId: string, report: { compliance: ComplianceReport; source: string },
  trail: { bytes: Uint8Array; source: string; verified: VerifyResult; signKeyHex: string },
): Promise<string> {
  const { compliance } = report;
  const { bytes: trailBytes, source, verified, signKeyHex } = trail;
  const rel = `devices/${deviceId}`;
  const base = join(dir, rel);
  await mkdir(base, { recursive: true });
  const markdown = complianceToMarkdown(compliance);
  const verifySummary = {
    ok: verified.ok, entries: verified.entries, checkpoints: verified.checkpoints, verifiedEntries: verified.verifiedEntries,
    head: verified.head, firstBreak: verified.firstBreak, fetchedVia: source,
  };
  await writeFile(join(base, 'compliance.md'), markdown);
  await writeFile(join(base, 'audit-trail.bin'), trailBytes);
  await writeFile(join(base, 'audit-verify.json'), JSON.stringify(verifySummary, null, 2) + '\n');
  await writeFile(join(base, 'index.html'), `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(deviceId)}: device report</title>
<style>body{font-family:system-ui,sans-serif;max-width:1000px;margin:24px auto;padding:0 16px;color:#1f2933}pre{background:#f5f7fa;padding:10px;overflow-x:auto;white-space:pre-wrap}
.pass{color:#2f9e44;font-weight:700}.fail{color:#d64545;font-weight:700}
table{border-collapse:collapse;width:100%;font-size:14px}th,td{border-bottom:1px solid #e4e7eb;padding:6px 8px;text-align:left;vertical-align:top}th{background:#f5f7fa}
ul{margin:0;padding-left:18px}</style></head><body>
<p><a href="../../index.html">&larr; simulation report</a></p>
<h1>${esc(deviceId)}</h1>
<h2>Audit trail</h2>
<p>Exported ${esc(source)}; verified off the device: <span class="${verified.ok ? 'pass' : 'fail'}">${verified.ok ? 'VERIFIES' : 'DOES NOT VERIFY'}</span> (${checkpointText(verified, compliance)}).
Files: <a href="audit-trail.bin">audit-trail.bin</a> (check it yourself: <code>trust-agent audit verify audit-trail.bin --key ${esc(signKeyHex)}</code>), <a href="audit-verify.json">audit-verify.json</a>.</p>
<h2>Compliance self-assessment</h2>
<p>Fetched ${esc(report.source)}: <b>${compliance.summary.met} met, ${compliance.summary.notMet} not met, ${compliance.summary.notApplicable} not applicable</b>; mode ${esc(compliance.mode)}. Markdown: <a href="compliance.md">compliance.md</a></p>
${complianceTable(compliance)}
</body></html>
`);
  return `${rel}/index.html`;
}

function complianceTable(report: ComplianceReport): string {
  const status = (s: string): string => (s === 'met' ? '<span class="pass">met</span>' : s === 'not-met' ? '<span class="fail">NOT MET</span>' : esc(s));
  const rows = report.rows.map((r) => `<tr><td>${esc(r.id)}</td><td>${esc(r.title)}</td><td>${status(r.status)}</td>`
    + `<td><ul>${r.evidence.map((e) => `<li>${esc(e)}</li>`).join('')}</ul>${r.note === undefined ? '' : `<p>${esc(r.note)}</p>`}</td></tr>`);
  return `<table><tr><th>Req</th><th>Requirement</th><th>Status</th><th>Evidence</th></tr>${rows.join('')}</table>`;
}

/**
 * The exported file's entries and checkpoints, reconciled with the R12 row of the self-assessment below: exporting
 * signs the head when it is not signed yet, so the file can hold one checkpoint more than the device has stored.
 */
function checkpointText(verified: VerifyResult, compliance: ComplianceReport): string {
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  const text = `${plural(verified.entries, 'entry').replace('entrys', 'entries')}, ${plural(verified.checkpoints, 'signed checkpoint')} in the exported file`;
  const r12 = compliance.rows.find((r) => r.id === 'R12')?.evidence.join(' ') ?? '';
  const stored = /signed checkpoints = (\d+)/.exec(r12)?.[1];
  if (stored === undefined || Number(stored) === verified.checkpoints) return text;
  const added = verified.checkpoints - Number(stored);
  return `${text}: ${stored} stored on the device (as R12 below counts) and ${added === 1 ? 'one' : added} over the head, signed by the device for this export`;
}
