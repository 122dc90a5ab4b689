import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Agent } from '../../agent/agent.js';
import {
  assessCompliance, assessmentCategories, complianceToMarkdown, summarizeTrail, verifyTrail,
  type AssessmentInput, type ComplianceReport, type VerifyResult,
} from '../../agent/audit/index.js';
import { keyId, toHex } from '../../agent/crypto/keys.js';
import { escapeXml as esc } from '../report/files.js';
import type { AuditTrailResult } from '../verdicts/evidence.js';

/**
 * The device's own compliance self-assessment, built from what the agent's public API exposes (status, manifest,
 * audit trail). The agent has no `selfAssessment()` on its public interface, so the facts are gathered here the
 * same way agent/status.ts does internally; anything not observable from outside is stated as configured.
 */
export function assessDevice(agent: Agent, recipientPublicKey: Uint8Array, now: number): ComplianceReport {
  const status = agent.status();
  const manifest = agent.policy.manifest();
  const counters = agent.policy.counters();
  const dropped: Record<string, Record<string, number>> = {};
  for (const [category, reasons] of Object.entries(counters.dropped)) {
    dropped[category] = Object.fromEntries(Object.entries(reasons).filter((e): e is [string, number] => typeof e[1] === 'number'));
  }
  const input: AssessmentInput = {
    generatedAt: now,
    device: { id: status.deviceId, type: status.deviceType },
    transport: { tls: !status.security.codes.includes('tls-off'), insecureAllowed: false, connected: status.connected },
    keys: {
      identityPresent: true, boxKeyId: toHex(keyId(agent.publicKeys.box)), signKeyId: toHex(keyId(agent.publicKeys.sign)),
      recipientKeyId: toHex(keyId(recipientPublicKey)), defaultSecret: false,
    },
    owner: { paired: status.paired },
    policy: {
      registryVersion: manifest.registryVersion, preferencesVersion: manifest.preferencesVersion, manifestHash: manifest.contentHash,
      manifestPublished: status.started, firstRunReviewed: manifest.manifestReviewed, categories: assessmentCategories(manifest),
      counters: { accepted: { ...counters.accepted }, dropped, invalid: { ...counters.invalid } },
    },
    store: {
      ...status.store, maxBytes: 8 * 1024 * 1024, maxRecords: 200_000, sweepIntervalMs: 60_000, encryptedAtRest: true,
      durability: 'group', overflowRule: 'drop oldest non-essential first, essential last',
    },
    telemetry: { algorithm: 'x25519-xsalsa20poly1305', supportedAlgorithms: ['x25519-xsalsa20poly1305'], endToEnd: true, published: status.published.envelopes },
    commands: { accepted: status.commands.accepted, rejected: { rejected: status.commands.rejected, dropped: status.commands.dropped }, rateLimited: status.commands.rateLimited, signedOnly: true, listeningSockets: 0 },
    rights: { erase: true, eraseCategory: true, export: true, transfer: true, receiptsIssued: 0, signedReceipts: true },
    audit: summarizeTrail(agent.audit),
  };
  return assessCompliance(input);
}

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
  dir: string, deviceId: string, compliance: ComplianceReport, trailBytes: Uint8Array, source: string, verified: VerifyResult, signKeyHex: string,
): Promise<string> {
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
.pass{color:#2f9e44;font-weight:700}.fail{color:#d64545;font-weight:700}</style></head><body>
<p><a href="../../index.html">&larr; simulation report</a></p>
<h1>${esc(deviceId)}</h1>
<h2>Audit trail</h2>
<p>Exported ${esc(source)}; verified off the device: <span class="${verified.ok ? 'pass' : 'fail'}">${verified.ok ? 'VERIFIES' : 'DOES NOT VERIFY'}</span> (${verified.entries} entries, ${verified.checkpoints} signed checkpoints).
Files: <a href="audit-trail.bin">audit-trail.bin</a> (check it yourself: <code>trust-agent audit verify audit-trail.bin --key ${esc(signKeyHex)}</code>), <a href="audit-verify.json">audit-verify.json</a>.</p>
<h2>Compliance self-assessment</h2>
<p><a href="compliance.md">compliance.md</a></p>
<pre>${esc(markdown)}</pre>
</body></html>
`);
  return `${rel}/index.html`;
}
