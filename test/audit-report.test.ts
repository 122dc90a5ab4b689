import { describe, expect, it } from 'vitest';
import { toHex } from '../agent/crypto/keys.js';
import { assessCompliance, securityState } from '../agent/audit/assess.js';
import type { AssessmentInput } from '../agent/audit/assess-types.js';
import { complianceToJson, complianceToMarkdown } from '../agent/audit/report.js';
import { thermostat } from './audit-support.js';

const row = (report: ReturnType<typeof assessCompliance>, id: string) => report.rows.find((r) => r.id === id)!;

describe('self-assessment', () => {
  it('has exactly one row per requirement R1..R14, all met for a securely set-up default thermostat', async () => {
    const { input } = await thermostat();
    const report = assessCompliance(input);
    expect(report.rows.map((r) => r.id)).toEqual(Array.from({ length: 14 }, (_, i) => `R${i + 1}`));
    expect(report.rows.filter((r) => r.status !== 'met').map((r) => `${r.id}: ${r.note}`)).toEqual([]);
    expect(report.mode).toBe('normal');
    expect(report.summary).toEqual({ met: 14, notMet: 0, notApplicable: 0 });
    for (const r of report.rows) expect(r.evidence.length).toBeGreaterThan(0);
  });

  it('cites the real state: versions, settings, audit hashes, sweep time', async () => {
    const { engine, trail, input } = await thermostat();
    const report = assessCompliance(input);
    expect(row(report, 'R1').evidence.join('\n')).toContain(`registry version = ${engine.registry().version}`);
    expect(row(report, 'R2').evidence.join('\n')).toContain(`preferences version = ${engine.currentVersion()}`);
    expect(row(report, 'R8').evidence.join('\n')).toContain(engine.manifest().contentHash);
    const consent = trail.entries().find((e) => e.type === 'consent.change')!;
    expect(row(report, 'R2').evidence.join('\n')).toContain(`#${consent.index} ${toHex(consent.hash).slice(0, 16)}`);
    const head = trail.head()!;
    expect(row(report, 'R12').evidence.join('\n')).toContain(toHex(head.hash));
    expect(row(report, 'R12').evidence).toContain(`bound = ${trail.limits.maxEntries} entries`);
    expect(row(report, 'R5').evidence.join('\n')).toContain(new Date(input.store.lastSweepAt!).toISOString());
    const occupancy = engine.manifest().categories.find((c) => c.name === 'occupancy')!;
    expect(row(report, 'R4').evidence).toContain(`occupancy: ${occupancy.effectiveSetting} (${occupancy.level}), sent`);
  });

  it('degrades and says why when the set-up is not secure', async () => {
    const { input } = await thermostat();
    const insecure: AssessmentInput = { ...input, transport: { tls: false, insecureAllowed: true }, owner: { paired: false } };
    const state = securityState(insecure);
    expect(state.secure).toBe(false);
    expect(state.codes).toEqual(['tls-off', 'insecure-allowed', 'owner-not-paired']);
    const report = assessCompliance(insecure);
    expect(report.mode).toBe('degraded');
    expect(row(report, 'R14').status).toBe('not-met');
    expect(row(report, 'R14').note).toContain('TLS to the broker is off');
    expect(row(report, 'R6').status).toBe('not-met');
    expect(row(report, 'R2').status).toBe('not-met');
    expect(complianceToMarkdown(report)).toContain('Security state: **DEGRADED**');
  });

  it('flags missing keys, a default secret and a broken trail', async () => {
    const { input } = await thermostat();
    const bad = { ...input, keys: { identityPresent: false, defaultSecret: true }, audit: { ...input.audit, verified: false, firstBreak: 'changed at entry 2' } };
    expect(securityState(bad).codes).toEqual(['keys-missing', 'default-secret', 'audit-broken']);
    expect(row(assessCompliance(bad), 'R12').status).toBe('not-met');
  });

  it('a trail found corrupt at start degrades the device and fails R12 until a clean start', async () => {
    const { input } = await thermostat();
    const recovered = { ...input, audit: { ...input.audit, previousTrailCorrupt: 'changed from entry 3; kept as audit/trail.log.corrupt-1' } };
    expect(securityState(recovered).codes).toEqual(['audit-broken']);
    const r12 = row(assessCompliance(recovered), 'R12');
    expect(r12.status).toBe('not-met');
    expect(r12.evidence.join('\n')).toContain('audit/trail.log.corrupt-1');
  });

  it('notices a stale sweep, retention above the maximum, and optional data collected before the first-run review', async () => {
    const { input } = await thermostat();
    const cats = input.policy.categories.map((c) => (c.name === 'comfort' ? { ...c, retentionMs: c.retentionMaxMs + 1 } : c));
    const stale = { ...input, store: { ...input.store, lastSweepAt: input.generatedAt - 10 * 60_000 }, policy: { ...input.policy, categories: cats } };
    const r5 = row(assessCompliance(stale), 'R5');
    expect(r5.status).toBe('not-met');
    expect(r5.note).toContain('comfort');
    expect(r5.note).toContain('no retention sweep');
    const early = { ...input, policy: { ...input.policy, firstRunReviewed: false, counters: { ...input.policy.counters, accepted: { occupancy: 3 } } } };
    expect(row(assessCompliance(early), 'R9').status).toBe('not-met');
  });

  it('renders JSON that round-trips and Markdown with one table row per requirement', async () => {
    const { input } = await thermostat();
    const report = assessCompliance(input);
    expect(JSON.parse(complianceToJson(report))).toEqual(report);
    const md = complianceToMarkdown(report);
    expect(md.split('\n').filter((l) => /^\| R\d+ \|/.test(l))).toHaveLength(14);
    expect(md).toContain('14 met, 0 not met');
  });
});
