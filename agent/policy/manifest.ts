import nacl from 'tweetnacl';
import { encodeCbor } from '../codec/cbor.js';
import { toHex } from '../crypto/keys.js';
import type { Manifest, ManifestCategory, ManifestField, ManifestProtection } from './manifest-types.js';
import type { CategoryPlan } from './plan.js';
import type { PreferenceState } from './preferences.js';
import type { Registry } from './registry-types.js';

export const DEFAULT_PROTECTION: ManifestProtection = {
  inTransit: [
    'end-to-end encrypted per message with NaCl box (X25519, XSalsa20-Poly1305) in a CBOR envelope',
    'inside TLS to the broker (plaintext only by explicit, logged opt-in)',
    'documents the device publishes (like this manifest) are signed with its Ed25519 key',
  ],
  atRest: [
    'encrypted with NaCl secretbox under keys per category and time epoch',
    'deleted at the retention deadline; destroying a key destroys everything under it (crypto-shredding)',
  ],
};

/** Build the manifest from the very plans the gate enforces, so the two cannot disagree. */
export function buildManifest(registry: Registry, state: PreferenceState, plans: Map<string, CategoryPlan>, protection: ManifestProtection): Manifest {
  const categories: ManifestCategory[] = [];
  for (const def of registry.categories) {
    const plan = plans.get(def.name);
    const pref = state.categories[def.name];
    if (plan === undefined || pref === undefined) continue;
    categories.push(manifestCategory(plan, pref.pending, pref.pendingChanges));
  }
  const manifest: Manifest = {
    format: 1,
    deviceType: registry.deviceType,
    registryVersion: registry.version,
    preferencesVersion: state.version,
    manifestReviewed: state.manifestReviewed,
    sensors: [...registry.sensors],
    protection: { inTransit: [...protection.inTransit], atRest: [...protection.atRest] },
    recipients: { ...registry.recipients },
    categories,
    contentHash: '',
  };
  manifest.contentHash = manifestHash(manifest);
  return manifest;
}

/** Hex of the first 16 bytes of SHA-512 over the CBOR encoding with contentHash = ''. */
export function manifestHash(manifest: Manifest): string {
  return toHex(nacl.hash(encodeCbor({ ...manifest, contentHash: '' })).subarray(0, 16));
}

function manifestCategory(plan: CategoryPlan, pending: boolean, pendingChanges: string[]): ManifestCategory {
  const def = plan.def;
  const fields: ManifestField[] = Object.entries(def.fields).map(([name, f]) =>
    f.type === 'enum' ? { name, type: f.type, values: [...f.values], description: f.description } : { name, type: f.type, description: f.description },
  );
  const category: ManifestCategory = {
    name: def.name,
    description: def.description,
    sensitivity: [...def.sensitivity],
    essential: def.essential,
    safety: def.safety,
    fields,
    purposes: [...def.purposes],
    recipients: [...def.recipients],
    retentionMaxMs: def.retentionMaxMs,
    retentionMs: plan.retentionMs,
    setting: plan.setting,
    effectiveSetting: plan.effective,
    allowedSettings: [...def.settings],
    defaultSetting: def.default,
    levels: def.minimise.map((l) => ({ name: l.name, description: l.description })),
    sentFields: plan.transmit ? [...plan.outputFields] : [],
    sentTo: plan.transmit ? [...plan.recipients] : [],
    handling: handling(plan),
    pendingConsent: pending,
    pendingChanges: [...pendingChanges],
    stopsWorkingWhenOff: [...def.stopsWorkingWhenOff],
  };
  if (plan.level !== undefined) category.level = plan.level.name;
  return category;
}

function handling(plan: CategoryPlan): string {
  const days = formatDuration(plan.retentionMs);
  if (plan.offReason === 'first-run') return 'not collected until the owner has reviewed this manifest';
  if (plan.offReason === 'pending-consent') return 'not collected until the owner accepts the updated terms';
  if (plan.effective === 'off') return 'not collected';
  if (plan.outputFields.length === 0) return 'not collected (no consented field left)';
  const kept = `kept on the device for at most ${days}`;
  if (plan.effective === 'local') return `${kept}, never sent`;
  const to = plan.transmit ? `sent to ${plan.recipients.join(', ')}` : 'not sent';
  if (plan.effective === 'full') return `${to} as measured; ${kept}`;
  return `${to} minimised (${plan.level?.description ?? ''}); ${kept}`;
}

export function formatDuration(ms: number): string {
  const day = 86_400_000;
  if (ms % day === 0) return `${ms / day} day${ms === day ? '' : 's'}`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  return `${Math.round(ms / 60_000)} min`;
}

export function manifestToJson(manifest: Manifest): string {
  return JSON.stringify(manifest, null, 2);
}

/** A short Markdown summary for people: one line per category, what is sent, and what is pending. */
export function manifestSummary(m: Manifest): string {
  const lines = [
    `# Privacy summary: ${m.deviceType}`,
    '',
    `Registry v${m.registryVersion}, preferences v${m.preferencesVersion}, manifest ${m.contentHash}.`,
    m.manifestReviewed ? '' : '**First run:** only essential data is collected until you review this manifest.',
    `Sensors: ${m.sensors.join(', ')}.`,
    '',
    '| data | sensitivity | setting | what is sent | kept | if off |',
    '|---|---|---|---|---|---|',
  ];
  for (const c of m.categories) {
    const setting = c.effectiveSetting === c.setting ? c.setting : `${c.setting} (enforced: ${c.effectiveSetting})`;
    const sent = c.sentFields.length === 0 ? 'nothing' : `${c.sentFields.join(', ')} to ${c.sentTo.join(', ')}`;
    const flags = c.safety ? ' (safety, always on)' : c.essential ? ' (essential)' : '';
    lines.push(`| ${c.name}${flags} | ${c.sensitivity.join(', ')} | ${setting} | ${sent} | ${formatDuration(c.retentionMs)} | ${c.stopsWorkingWhenOff.join('; ') || '-'} |`);
  }
  const pending = m.categories.filter((c) => c.pendingConsent);
  if (pending.length > 0) {
    lines.push('', '**Waiting for your consent** (the old terms apply until you accept):');
    for (const c of pending) lines.push(`- ${c.name}: ${c.pendingChanges.join('; ')}`);
  }
  lines.push('', `In transit: ${m.protection.inTransit.join('; ')}.`, `At rest: ${m.protection.atRest.join('; ')}.`);
  return lines.filter((line, i, all) => !(line === '' && all[i - 1] === '')).join('\n') + '\n';
}
