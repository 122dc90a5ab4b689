import { describe, expect, it } from 'vitest';
import { toHex } from '../agent/crypto/keys.js';
import { createPolicyEngine, registryFor, type PolicyEngine } from '../agent/policy/index.js';
import { assessCompliance, securityState } from '../agent/audit/assess.js';
import type { AssessmentInput } from '../agent/audit/assess-types.js';
import { assessmentCategories, complianceToJson, complianceToMarkdown, summarizeTrail } from '../agent/audit/report.js';
import type { AuditTrail } from '../agent/audit/trail.js';
import { deviceKeys, MapStorage, openTrail, StepClock } from './audit-support.js';

const logger = { debug() {}, info() {}, warn() {}, error() {} };

/** A thermostat's real policy engine and audit trail, and the input the agent would build from them. */
async function thermostat(): Promise<{ engine: PolicyEngine; trail: AuditTrail; input: AssessmentInput }> {
  const clock = new StepClock();
  const engine = await createPolicyEngine({ registry: registryFor('thermostat'), storage: new MapStorage(), clock, logger });
  const { trail } = await openTrail(new MapStorage(), { clock, checkpointEvery: 4 });
  await trail.record('agent.start', { version: '0.1.0', deviceType: 'thermostat', secure: true });
  await trail.record('pairing', { ownerKeyId: '0011223344556677', result: 'paired' });
  await engine.markManifestReviewed();
  const change = await engine.applyPatch({ categories: { occupancy: { setting: 'minimised' } } });
  await trail.record('consent.change', { category: 'occupancy', setting: 'minimised', version: change.version });
  engine.collect('climate', { temperatureC: 21.3, humidityPct: 41 });
  await trail.record('purge', { category: 'comfort', removed: 0, reason: 'withdrawn' });
  const manifest = engine.manifest();
  const now = clock.now();
  const input: AssessmentInput = {
    generatedAt: now,
    device: { id: 'thermo-1', type: 'thermostat', agentVersion: '0.1.0' },
    transport: { tls: true, insecureAllowed: false, connected: true },
    keys: { identityPresent: true, boxKeyId: 'aa00aa00aa00aa00', signKeyId: toHex(deviceKeys.publicKey.subarray(0, 8)), recipientKeyId: 'bb00bb00bb00bb00' },
    owner: { paired: true, ownerKeyId: '0011223344556677' },
    policy: {
      registryVersion: engine.registry().version,
      preferencesVersion: engine.currentVersion(),
      manifestHash: manifest.contentHash,
      manifestPublished: true,
      firstRunReviewed: manifest.manifestReviewed,
      categories: assessmentCategories(manifest),
      counters: engine.counters() as AssessmentInput['policy']['counters'],
    },
    store: {
      records: 1, queued: 1, bytes: 200, maxBytes: 8 << 20, maxRecords: 200_000,
      dropped: { overflow: 0, expired: 0, purged: 0, expiredUnsent: 0 },
      lastSweepAt: now - 1000, sweepIntervalMs: 60_000, epochsLive: 1, encryptedAtRest: true, durability: 'group', overflowRule: 'drop oldest',
    },
    telemetry: { algorithm: 'x25519-xsalsa20poly1305', supportedAlgorithms: ['x25519-xsalsa20poly1305'], endToEnd: true, published: 1 },
    commands: { accepted: 1, rejected: { BAD_SIGNATURE: 2 }, rateLimited: 0, signedOnly: true, listeningSockets: 0 },
    rights: { erase: true, eraseCategory: true, export: true, transfer: true, receiptsIssued: 0, signedReceipts: true },
    audit: summarizeTrail(trail, { maxEntries: 2000, verifyWith: deviceKeys.publicKey }),
  };
  return { engine, trail, input };
}

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
