import type { Manifest, ManifestCategory } from '../policy/manifest-types.js';

/**
 * The owner-readable label's content, derived from the manifest only (which the gate's own plans generate), in the
 * words a person uses. The HTML and text renderers share it, so both say exactly the same thing.
 */
export interface LabelModel {
  device: string;
  notices: string[];
  collected: { title: string; what: string; how: string }[];
  notCollected: string[];
  /** Grouped by recipient: who gets what. */
  shared: { to: string; items: string[] }[];
  keptOnDevice: string[];
  kept: { title: string; duration: string }[];
  /** Collected now and the owner may switch it off: what stops working then. */
  canTurnOff: { title: string; now: string; loses: string }[];
  /** Off now and the owner may switch it on: what it is for. */
  canTurnOn: { title: string; gains: string }[];
  alwaysOn: string[];
}

const ACRONYMS: Record<string, string> = { spo2: 'SpO2', hvac: 'HVAC', gps: 'GPS' };

export function categoryTitle(name: string): string {
  const words = name.split(/[-_\s]+/).filter(Boolean).map((w) => ACRONYMS[w.toLowerCase()] ?? w);
  const first = words[0] ?? name;
  return [first.charAt(0).toUpperCase() + first.slice(1), ...words.slice(1)].join(' ');
}

export function deviceTitle(type: string): string {
  return categoryTitle(type);
}

export const SENSITIVITY_WORDS: Record<string, string> = {
  health: 'Health',
  location: 'Precise location',
  presence: 'Presence and routine',
  identity: 'Identity',
  technical: 'Technical',
};

export const SETTING_WORDS: Record<string, string> = {
  off: 'Off',
  local: 'Kept on the device only',
  minimised: 'Sent in reduced detail',
  full: 'Sent as measured',
};

/** Durations the way people say them: "30 days", "12 hours", "1 day". */
export function humanDuration(ms: number): string {
  const units: [number, string][] = [[86_400_000, 'day'], [3_600_000, 'hour'], [60_000, 'minute']];
  for (const [size, unit] of units) {
    if (ms >= size && ms % size === 0) {
      const n = ms / size;
      return `${n} ${unit}${n === 1 ? '' : 's'}`;
    }
  }
  const minutes = Math.max(1, Math.round(ms / 60_000));
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}

export function recipientWords(manifest: Manifest, id: string): string {
  return manifest.recipients[id] ?? id;
}

export function isCollected(c: ManifestCategory): boolean {
  return c.effectiveSetting !== 'off';
}

function how(c: ManifestCategory): string {
  if (c.effectiveSetting === 'minimised') {
    const level = c.levels.find((l) => l.name === c.level);
    return level === undefined ? SETTING_WORDS.minimised ?? '' : `${SETTING_WORDS.minimised}: ${level.description}`;
  }
  return SETTING_WORDS[c.effectiveSetting] ?? c.effectiveSetting;
}

export function buildLabelModel(manifest: Manifest): LabelModel {
  const cats = manifest.categories;
  const collected = cats.filter(isCollected);
  const notices: string[] = [];
  if (!manifest.manifestReviewed) {
    notices.push('First run: until you have reviewed this label in the app, the device collects only what it needs to work.');
  }
  for (const c of cats.filter((x) => x.pendingConsent)) {
    const changes = c.pendingChanges.length > 0 ? ` (${c.pendingChanges.join('; ')})` : '';
    notices.push(`${categoryTitle(c.name)}: an update asks for more${changes}. Nothing changes until you accept it.`);
  }
  return {
    device: deviceTitle(manifest.deviceType),
    notices,
    collected: collected.map((c) => ({ title: categoryTitle(c.name), what: c.description, how: how(c) })),
    notCollected: cats.filter((c) => !isCollected(c)).map((c) => categoryTitle(c.name)),
    shared: sharedByRecipient(manifest, collected),
    keptOnDevice: collected.filter((c) => c.sentTo.length === 0).map((c) => categoryTitle(c.name)),
    kept: collected.map((c) => ({ title: categoryTitle(c.name), duration: humanDuration(c.retentionMs) })),
    canTurnOff: collected
      .filter((c) => !c.safety && c.allowedSettings.includes('off'))
      .map((c) => ({
        title: categoryTitle(c.name),
        now: SETTING_WORDS[c.effectiveSetting] ?? c.effectiveSetting,
        loses: c.stopsWorkingWhenOff.length > 0 ? c.stopsWorkingWhenOff.join('; ') : 'nothing else stops working',
      })),
    canTurnOn: cats
      .filter((c) => !isCollected(c) && c.allowedSettings.some((x) => x !== 'off'))
      .map((c) => ({ title: categoryTitle(c.name), gains: c.purposes.join('; ') })),
    alwaysOn: cats.filter((c) => c.safety || !c.allowedSettings.includes('off')).map((c) => categoryTitle(c.name)),
  };
}

const BRIEF: Record<string, string> = { minimised: 'reduced detail', full: 'as measured', local: 'kept on the device' };

function sharedByRecipient(manifest: Manifest, collected: ManifestCategory[]): LabelModel['shared'] {
  const byRecipient = new Map<string, string[]>();
  for (const c of collected) {
    for (const r of c.sentTo) {
      const item = `${categoryTitle(c.name)} (${BRIEF[c.effectiveSetting] ?? c.effectiveSetting})`;
      byRecipient.set(r, [...(byRecipient.get(r) ?? []), item]);
    }
  }
  return [...byRecipient].map(([r, items]) => ({ to: recipientWords(manifest, r), items }));
}

/** Why a category is off, in the owner's terms: the manifest's handling names first-run and consent holds. */
export function offReason(c: ManifestCategory): string {
  if (c.handling === 'not collected') return c.setting === c.defaultSetting ? 'off by default; you can turn it on' : 'you turned it off';
  return c.handling;
}
