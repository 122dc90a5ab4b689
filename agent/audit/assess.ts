import type {
  AssessmentCategory, AssessmentInput, ComplianceReport, ComplianceRow, ComplianceStatus, SecurityState,
} from './assess-types.js';
import { humanDuration } from './label-model.js';

/**
 * Self-assessment against the requirement catalogue (R1..R14). Each row is derived only from the input facts, so the
 * report is as true as the state the agent reports; a test checks rows against a real device's state.
 */
const TITLES: Record<string, string> = {
  R1: 'Data-category registry and collection gate',
  R2: 'Owner sets, revises and resets preferences',
  R3: 'Withdrawal takes effect immediately',
  R4: 'Minimisation',
  R5: 'Retention with a hard deadline; encrypted at rest',
  R6: 'Encryption in transit and at rest',
  R7: 'Crypto agility',
  R8: 'Machine-readable privacy manifest',
  R9: 'No silent change of privacy terms; first-run gate',
  R10: 'Erase, export, transfer with receipts',
  R11: 'Authenticated, validated command interface',
  R12: 'Tamper-evident audit log',
  R13: 'Durable store-and-forward',
  R14: 'Security state and self-check',
};

const SECURITY_TEXT: Record<string, string> = {
  'tls-off': 'TLS to the broker is off',
  'insecure-allowed': 'the plaintext transport opt-in is set',
  'keys-missing': 'the device identity keys are missing',
  'default-secret': 'a default secret is still in use',
  'owner-not-paired': 'no owner is paired',
  'audit-broken': 'the audit trail does not verify or was found corrupt at start',
};

export function securityState(input: AssessmentInput): SecurityState {
  const codes: string[] = [];
  if (!input.transport.tls) codes.push('tls-off');
  if (input.transport.insecureAllowed) codes.push('insecure-allowed');
  if (!input.keys.identityPresent) codes.push('keys-missing');
  if (input.keys.defaultSecret === true) codes.push('default-secret');
  if (!input.owner.paired) codes.push('owner-not-paired');
  if (!input.audit.verified || input.audit.previousTrailCorrupt !== undefined) codes.push('audit-broken');
  return { secure: codes.length === 0, codes, reasons: codes.map((c) => SECURITY_TEXT[c] ?? c) };
}

export function assessCompliance(input: AssessmentInput): ComplianceReport {
  const security = securityState(input);
  const rows = ROWS.map(([id, assess]) => ({ id, title: TITLES[id] ?? id, ...assess(input, security) }));
  const count = (s: ComplianceStatus): number => rows.filter((r) => r.status === s).length;
  return {
    format: 1,
    generatedAt: input.generatedAt,
    device: { ...input.device },
    mode: security.secure ? 'normal' : 'degraded',
    security,
    summary: { met: count('met'), notMet: count('not-met'), notApplicable: count('not-applicable') },
    rows,
  };
}

type Verdict = Omit<ComplianceRow, 'id' | 'title'>;
type Assess = (input: AssessmentInput, security: SecurityState) => Verdict;

function verdict(ok: boolean, evidence: string[], failNote: string): Verdict {
  return ok ? { status: 'met', evidence } : { status: 'not-met', evidence, note: failNote };
}

const personal = (c: AssessmentCategory): boolean => c.sensitivity.some((s) => s !== 'technical');
const sum = (record: Record<string, number>): number => Object.values(record).reduce((a, b) => a + b, 0);
const time = (ms: number | undefined): string => (ms === undefined ? 'never' : new Date(ms).toISOString());

/** Cite the latest audit entry of a type: index and hash, so an assessor can find it in the verified trail. */
function cite(input: AssessmentInput, type: string): string {
  const entry = input.audit.latest[type];
  const n = input.audit.counts[type] ?? 0;
  return entry === undefined ? `audit ${type}: none` : `audit ${type}: ${n} ${n === 1 ? 'entry' : 'entries'}, latest #${entry.index} ${entry.hash.slice(0, 16)} at ${time(entry.at)}`;
}

function droppedFor(input: AssessmentInput, reason: string): number {
  return Object.values(input.policy.counters.dropped).reduce((n, byReason) => n + (byReason[reason] ?? 0), 0);
}

/** Settings ordered from narrowest to widest, to tell whether the enforced setting exceeds the owner's. */
const WIDTH: Record<string, number> = { off: 0, local: 1, minimised: 2, full: 3 };

const r1: Assess = (input) => {
  const cats = input.policy.categories;
  const wrongDefault = cats.filter((c) => !c.essential && personal(c) && c.defaultSetting !== 'off').map((c) => c.name);
  return verdict(cats.length > 0 && wrongDefault.length === 0, [
    `registry version = ${input.policy.registryVersion}`,
    `categories = ${cats.map((c) => `${c.name}(${c.essential ? 'essential' : 'optional'}, default ${c.defaultSetting})`).join(', ')}`,
    `readings accepted = ${sum(input.policy.counters.accepted)}, dropped off = ${droppedFor(input, 'off')}, invalid = ${sum(input.policy.counters.invalid)}`,
  ], cats.length === 0 ? 'no categories registered' : `optional personal categories not off by default: ${wrongDefault.join(', ')}`);
};

const r2: Assess = (input) => verdict(input.owner.paired && input.commands.signedOnly, [
  `owner paired = ${input.owner.paired}${input.owner.ownerKeyId === undefined ? '' : ` (key ${input.owner.ownerKeyId})`}`,
  `preferences version = ${input.policy.preferencesVersion}`,
  `signed commands only = ${input.commands.signedOnly}`,
  cite(input, 'consent.change'),
], input.owner.paired ? 'unsigned commands are accepted' : 'no owner is paired, so nobody can set preferences');

const r3: Assess = (input) => {
  const optional = input.policy.categories.filter((c) => !c.essential);
  if (optional.length === 0) return { status: 'not-applicable', evidence: ['no optional categories'], note: 'nothing can be withdrawn' };
  return {
    status: 'met',
    evidence: [
      `categories off now = ${optional.filter((c) => c.effectiveSetting === 'off').map((c) => c.name).join(', ') || 'none'}`,
      `records purged = ${input.store.dropped.purged}`,
      `readings dropped because off = ${droppedFor(input, 'off')}`,
      cite(input, 'purge'),
    ],
  };
};

const r4: Assess = (input) => {
  const wider = input.policy.categories.filter((c) => (WIDTH[c.effectiveSetting] ?? 9) > (WIDTH[c.setting] ?? -1));
  const noLevel = input.policy.categories.filter((c) => c.effectiveSetting === 'minimised' && c.level === undefined);
  const rawPersonal = input.policy.categories.filter((c) => c.transmitted && personal(c) && c.effectiveSetting === 'full');
  return verdict(wider.length === 0 && noLevel.length === 0, [
    ...input.policy.categories.map((c) => `${c.name}: ${c.effectiveSetting}${c.level === undefined ? '' : ` (${c.level})`}${c.transmitted ? ', sent' : ', not sent'}`),
    `personal categories sent unminimised by owner choice = ${rawPersonal.map((c) => c.name).join(', ') || 'none'}`,
  ], `enforced wider than the owner's setting: ${wider.map((c) => c.name).join(', ') || 'none'}; minimised without a level: ${noLevel.map((c) => c.name).join(', ') || 'none'}`);
};

const r5: Assess = (input) => {
  const s = input.store;
  const overlong = input.policy.categories.filter((c) => c.retentionMs > c.retentionMaxMs).map((c) => c.name);
  const fresh = s.lastSweepAt !== undefined && input.generatedAt - s.lastSweepAt <= 2 * s.sweepIntervalMs;
  return verdict(overlong.length === 0 && fresh && s.encryptedAtRest, [
    ...input.policy.categories.map((c) => `${c.name}: retention ${humanDuration(c.retentionMs)} (maximum ${humanDuration(c.retentionMaxMs)})`),
    `last sweep = ${time(s.lastSweepAt)} (interval ${humanDuration(s.sweepIntervalMs)})`,
    `expired and deleted = ${s.dropped.expired}, of them never sent = ${s.dropped.expiredUnsent}`,
    `encrypted at rest = ${s.encryptedAtRest}, key epochs live = ${s.epochsLive}`,
  ], [overlong.length > 0 ? `retention above the registry maximum: ${overlong.join(', ')}` : '', fresh ? '' : 'no retention sweep within two intervals', s.encryptedAtRest ? '' : 'not encrypted at rest'].filter(Boolean).join('; '));
};

const r6: Assess = (input) => verdict(input.transport.tls && !input.transport.insecureAllowed && input.telemetry.endToEnd && input.store.encryptedAtRest, [
  `TLS = ${input.transport.tls}, plaintext opt-in = ${input.transport.insecureAllowed}`,
  `end-to-end envelope = ${input.telemetry.endToEnd} (${input.telemetry.algorithm}${input.keys.recipientKeyId === undefined ? '' : `, recipient key ${input.keys.recipientKeyId}`})`,
  `encrypted at rest = ${input.store.encryptedAtRest}`,
  cite(input, 'transport.insecure'),
], input.transport.tls ? 'end-to-end or at-rest encryption is off' : 'plaintext to the broker (explicit, audited opt-in)');

const r7: Assess = (input) => verdict(input.telemetry.algorithm.length > 0 && input.telemetry.supportedAlgorithms.includes(input.telemetry.algorithm), [
  `envelope algorithm = ${input.telemetry.algorithm}`,
  `accepted algorithms = ${input.telemetry.supportedAlgorithms.join(', ')}`,
  `key ids: box ${input.keys.boxKeyId ?? '-'}, sign ${input.keys.signKeyId ?? '-'}, recipient ${input.keys.recipientKeyId ?? '-'}`,
  recipientRotation(input),
  cite(input, 'key.rotated'),
  cite(input, 'key.rejected'),
], 'the envelope algorithm is not one the agent names and accepts');

function recipientRotation(input: AssessmentInput): string {
  const r = input.keys.recipientRotation;
  if (r === undefined) return 'collector key rotation: not reported';
  return r.trustRoot
    ? `collector key rotation: trust root configured; rotations signed by it apply (serial now ${r.serial}), others are refused and audited`
    : 'collector key rotation: no trust root configured, so the collector key cannot be rotated in the field';
}

const r8: Assess = (input) => verdict(input.policy.manifestHash.length > 0 && input.policy.manifestPublished, [
  `manifest hash = ${input.policy.manifestHash || '-'}`,
  `published = ${input.policy.manifestPublished}`,
  `registry version = ${input.policy.registryVersion}, preferences version = ${input.policy.preferencesVersion}`,
], 'the manifest is not published');

const r9: Assess = (input) => {
  const p = input.policy;
  const earlyOptional = p.firstRunReviewed ? [] : p.categories.filter((c) => !c.essential && (p.counters.accepted[c.name] ?? 0) > 0);
  const pendingWidened = p.categories.filter((c) => c.pendingConsent && (WIDTH[c.effectiveSetting] ?? 0) > 0 && c.transmitted);
  return verdict(earlyOptional.length === 0 && p.settingsPreservedAcrossUpdate !== false, [
    `first-run review done = ${p.firstRunReviewed}`,
    `awaiting consent = ${p.categories.filter((c) => c.pendingConsent).map((c) => c.name).join(', ') || 'none'}`,
    `readings held back: first-run = ${droppedFor(input, 'first-run')}, pending consent = ${droppedFor(input, 'pending-consent')}`,
    `categories awaiting consent still sent (under the old terms) = ${pendingWidened.map((c) => c.name).join(', ') || 'none'}`,
    `owner settings kept across the last update = ${p.settingsPreservedAcrossUpdate ?? 'no update yet'}`,
    cite(input, 'policy.update'),
  ], earlyOptional.length > 0 ? `optional data collected before the first-run review: ${earlyOptional.map((c) => c.name).join(', ')}` : 'owner settings were lost in an update');
};

const r10: Assess = (input) => {
  const r = input.rights;
  return verdict(r.erase && r.export && r.transfer && r.signedReceipts, [
    `erase all = ${r.erase}, erase one category = ${r.eraseCategory}, export = ${r.export}, transfer = ${r.transfer}`,
    `signed receipts = ${r.signedReceipts}, receipts issued = ${r.receiptsIssued}`,
    'erase per user on a shared device: not applicable (single-owner device)',
    cite(input, 'receipt'),
    cite(input, 'ownership.transfer'),
  ], 'a data right or its signed receipt is missing');
};

const r11: Assess = (input) => {
  const c = input.commands;
  return verdict(c.signedOnly && c.listeningSockets === 0, [
    `commands accepted = ${c.accepted}`,
    `rejected = ${Object.entries(c.rejected).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`,
    `rate-limited = ${c.rateLimited ?? 0}`,
    `listening sockets = ${c.listeningSockets}`,
    cite(input, 'command.rejected'),
  ], c.signedOnly ? 'the agent listens on a socket' : 'unsigned commands are accepted');
};

const r12: Assess = (input) => {
  const a = input.audit;
  return verdict(a.verified && a.head !== undefined && a.previousTrailCorrupt === undefined, [
    `entries = ${a.entries}, signed checkpoints = ${a.checkpoints}`,
    `head = ${a.head === undefined ? 'none' : `#${a.head.index} ${a.head.hash} at ${time(a.head.at)}${a.head.signed ? ', signed' : ', not yet signed'}`}`,
    `verified = ${a.verified}${a.checkedBy === undefined ? '' : ` (${a.checkedBy === 'signatures' ? 'chain and signatures' : 'hash chain at open'})`}${a.firstBreak === undefined ? '' : `: ${a.firstBreak}`}`,
    `bound = ${a.maxEntries} entries${a.maxAgeMs === undefined ? '' : `, ${a.maxAgeMs} ms`}`,
    `previous trail = ${a.previousTrailCorrupt === undefined ? 'intact' : `corrupt: ${a.previousTrailCorrupt}`}`,
    cite(input, 'trail.trimmed'),
  ], !a.verified ? `the trail does not verify: ${a.firstBreak ?? 'unknown break'}` : a.previousTrailCorrupt !== undefined ? 'the previous trail was found corrupt at start and a new one begun' : 'the trail is empty');
};

const r13: Assess = (input) => {
  const s = input.store;
  return verdict(s.maxBytes > 0 && s.maxRecords > 0 && s.overflowRule.length > 0, [
    `durability = ${s.durability} (append resolves after sync)`,
    `records = ${s.records}, queued = ${s.queued}, bytes = ${s.bytes}`,
    `bounds = ${s.maxRecords} records, ${s.maxBytes} bytes; overflow rule = ${s.overflowRule}; overflow drops = ${s.dropped.overflow}`,
    `published envelopes = ${input.telemetry.published ?? 0}`,
  ], 'the store has no bound or no overflow rule');
};

const r14: Assess = (input, security) => verdict(security.secure, [
  `TLS = ${input.transport.tls}, keys present = ${input.keys.identityPresent}, owner paired = ${input.owner.paired}`,
  `default secret = ${input.keys.defaultSecret ?? false}, plaintext opt-in = ${input.transport.insecureAllowed}`,
  `mode = ${security.secure ? 'normal' : 'degraded'}`,
  cite(input, 'selfcheck'),
], `degraded: ${security.reasons.join('; ')}`);

const ROWS: [string, Assess][] = [
  ['R1', r1], ['R2', r2], ['R3', r3], ['R4', r4], ['R5', r5], ['R6', r6], ['R7', r7],
  ['R8', r8], ['R9', r9], ['R10', r10], ['R11', r11], ['R12', r12], ['R13', r13], ['R14', r14],
];
