import { toHex } from '../crypto/keys.js';
import type { Manifest } from '../policy/manifest-types.js';
import type { AssessmentAudit, AssessmentCategory, ComplianceReport, ComplianceStatus } from './assess-types.js';
import type { AuditTrail } from './trail.js';
import { verifyTrail } from './verify.js';

/** Machine form: stable key order, two-space indent. */
export function complianceToJson(report: ComplianceReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

const MARK: Record<ComplianceStatus, string> = { met: 'met', 'not-met': '**NOT MET**', 'not-applicable': 'n/a' };

/** Markdown cells must not break the table: pipes and newlines are escaped. */
function cell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** People's form: summary, security state, then one table row per requirement with its evidence. */
export function complianceToMarkdown(report: ComplianceReport): string {
  const lines = [
    `# Privacy and security self-assessment: ${cell(report.device.id)}`,
    '',
    `Device type: ${cell(report.device.type)}${report.device.agentVersion === undefined ? '' : `, agent ${cell(report.device.agentVersion)}`}. Generated ${new Date(report.generatedAt).toISOString()}.`,
    '',
    `**${report.summary.met} met, ${report.summary.notMet} not met, ${report.summary.notApplicable} not applicable** (requirements R1 to R14).`,
    '',
    report.security.secure
      ? 'Security state: **secure** (TLS on, keys present, owner paired, no insecure flags).'
      : `Security state: **DEGRADED**: ${report.security.reasons.map(cell).join('; ')}.`,
    '',
    '| Req | Requirement | Status | Evidence |',
    '|---|---|---|---|',
  ];
  for (const row of report.rows) {
    const evidence = [...(row.note === undefined ? [] : [`*${cell(row.note)}*`]), ...row.evidence.map(cell)].join('<br>');
    lines.push(`| ${row.id} | ${cell(row.title)} | ${MARK[row.status]} | ${evidence} |`);
  }
  return `${lines.join('\n')}\n`;
}

export interface SummarizeOptions {
  verifyWith?: Uint8Array;
  /** @deprecated Ignored: the report cites the trail's own `limits`, the bound actually in force. */
  maxEntries?: number;
  /** @deprecated Ignored, as `maxEntries`. */
  maxAgeMs?: number;
}

/**
 * The audit part of an AssessmentInput, read from the live trail. With `verifyWith` it checks the exported trail
 * against the device key (one signature check per checkpoint: about 0.2 s each in QuickJS, so the agent may skip
 * it there and rely on the chain); without it, the in-memory chain is trusted as opened.
 */
export function summarizeTrail(trail: AuditTrail, options: SummarizeOptions = {}): AssessmentAudit {
  const entries = trail.entries();
  const latest: AssessmentAudit['latest'] = {};
  const counts: AssessmentAudit['counts'] = {};
  for (const e of entries) {
    latest[e.type] = { index: e.index, hash: toHex(e.hash), at: e.at };
    counts[e.type] = (counts[e.type] ?? 0) + 1;
  }
  const head = trail.head();
  const result = options.verifyWith === undefined ? undefined : verifyTrail(trail.exportTrail(), options.verifyWith);
  const brk = result?.firstBreak;
  const old = trail.recoveredCorrupt;
  return {
    entries: entries.length,
    checkpoints: trail.checkpoints().length,
    ...(head === undefined ? {} : { head: { index: head.index, hash: toHex(head.hash), at: head.at, signed: head.signed || result !== undefined } }),
    verified: result === undefined ? true : result.ok,
    checkedBy: result === undefined ? 'chain' : 'signatures',
    ...(brk === undefined ? {} : { firstBreak: `${brk.kind} at entry ${brk.index}: ${brk.detail}` }),
    ...(old === undefined ? {} : { previousTrailCorrupt: `${old.kind} from entry ${old.index} (${old.detail}); kept as ${old.preservedAs}` }),
    // The trail's own bound, so the report cannot cite a limit that is not in force.
    maxEntries: trail.limits.maxEntries,
    ...(trail.limits.maxAgeMs === undefined ? {} : { maxAgeMs: trail.limits.maxAgeMs }),
    latest,
    counts,
  };
}

/** The policy categories of an AssessmentInput, read off the live manifest (which the gate's plans generate). */
export function assessmentCategories(manifest: Manifest): AssessmentCategory[] {
  return manifest.categories.map((c) => ({
    name: c.name,
    sensitivity: [...c.sensitivity],
    essential: c.essential,
    safety: c.safety,
    setting: c.setting,
    effectiveSetting: c.effectiveSetting,
    defaultSetting: c.defaultSetting,
    retentionMs: c.retentionMs,
    retentionMaxMs: c.retentionMaxMs,
    transmitted: c.sentTo.length > 0,
    ...(c.level === undefined ? {} : { level: c.level }),
    pendingConsent: c.pendingConsent,
  }));
}
