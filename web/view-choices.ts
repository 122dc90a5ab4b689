import type { Manifest, ManifestCategory } from '../agent/policy/manifest-types.js';
import type { App } from './app-context.js';
import { h, uid } from './dom.js';
import type { DeviceSession } from './session.js';
import { consequence, duration, SETTING_LABEL, title, type Setting } from './words.js';

const ALL: Setting[] = ['off', 'local', 'minimised', 'full'];
const HOUR = 3_600_000;

/** Per category: what, why, who receives it, how long; then the control, the retention, and the consequence. */
export function choicesView(app: App, session: DeviceSession, manifest: Manifest): HTMLElement {
  return h('section', { 'aria-labelledby': 'choices-h' },
    h('h2', { id: 'choices-h' }, 'Your choices, per kind of data'),
    manifest.manifestReviewed ? null : h('p', { class: 'notice' }, 'You have not confirmed the review yet (see Label): until you do, non-essential data stays off whatever you choose here.'),
    h('div', { class: 'categories' }, ...manifest.categories.map((c) => categoryCard(app, session, manifest, c))));
}

/** The device accepted the choice but enforces something else (before the review, or pending consent): say so. */
function notInForce(enforced: unknown, name: string, wanted: Setting, reviewed: boolean): string | undefined {
  const now = (enforced as { categories?: Record<string, { setting?: string }> } | undefined)?.categories?.[name]?.setting;
  if (now === undefined || now === wanted) return undefined;
  const why = reviewed ? 'the device keeps to the terms you have accepted (see Label)' : 'you have not confirmed the review of the label yet (see Label)';
  return `Your choice is saved, but the device enforces "${SETTING_LABEL[now as Setting] ?? now}" for now: ${why}.`;
}

function categoryCard(app: App, session: DeviceSession, manifest: Manifest, c: ManifestCategory): HTMLElement {
  const name = title(c.name);
  const headingId = uid('cat');
  const consequenceEl = h('p', { class: 'consequence', 'aria-live': 'polite' });
  const levelSelect = c.levels.length === 0 ? undefined
    : h('select', { id: uid('level') }, ...c.levels.map((l) => h('option', { value: l.name, selected: l.name === c.level }, `${l.name}: ${l.description}`)));
  const radios = ALL.map((setting) => {
    const id = uid('set');
    const allowed = c.allowedSettings.includes(setting) && !(c.safety && setting === 'off');
    const input = h('input', { type: 'radio', name: `setting-${c.name}`, id, value: setting, checked: c.setting === setting, disabled: !allowed });
    return { input, el: h('div', { class: 'radio' }, input, h('label', { for: id }, SETTING_LABEL[setting], allowed ? null : h('span', { class: 'muted' }, ' (not offered)'))) };
  });
  const retained = c.retentionMs;
  const daysId = uid('days');
  const hoursId = uid('hours');
  const days = h('input', { type: 'number', id: daysId, min: 0, max: Math.floor(c.retentionMaxMs / (24 * HOUR)), value: Math.floor(retained / (24 * HOUR)), inputmode: 'numeric' });
  const hours = h('input', { type: 'number', id: hoursId, min: 0, max: 23, value: Math.floor((retained % (24 * HOUR)) / HOUR), inputmode: 'numeric' });
  const selected = (): Setting => (radios.find((r) => r.input.checked)?.input.value ?? c.setting) as Setting;
  const update = (): void => {
    consequenceEl.textContent = `If you apply this: ${consequence(c, selected(), manifest.recipients, levelSelect?.value ?? c.level)}`
      + (manifest.manifestReviewed || c.essential ? '' : ' (Only after you confirm the review.)');
    levelField?.toggleAttribute('hidden', selected() !== 'minimised');
  };
  const levelField = levelSelect === undefined ? undefined
    : h('div', { class: 'field' }, h('label', { for: levelSelect.id }, 'Level of detail when minimised'), levelSelect);
  for (const r of radios) r.input.addEventListener('change', update);
  levelSelect?.addEventListener('change', update);
  update();

  const apply = h('button', { type: 'button' }, `Apply to ${name}`);
  apply.addEventListener('click', () => {
    const retentionMs = (Number(days.value) * 24 + Number(hours.value)) * HOUR;
    if (!Number.isFinite(retentionMs) || retentionMs <= 0 || retentionMs > c.retentionMaxMs) {
      app.say(`Retention for ${name} must be more than 0 and at most ${duration(c.retentionMaxMs)}.`, 'error');
      return;
    }
    const setting = selected();
    const entry: Record<string, unknown> = { setting };
    if (setting === 'minimised' && levelSelect !== undefined) entry['level'] = levelSelect.value;
    if (retentionMs !== c.retentionMs) entry['retentionMs'] = retentionMs;
    void session.track(`${name}: ${SETTING_LABEL[setting]}${entry['retentionMs'] === undefined ? '' : `, kept ${duration(retentionMs)}`}`,
      () => session.companion.setPreferences({ categories: { [c.name]: entry } }),
      (reply) => notInForce(reply.enforced, c.name, setting, manifest.manifestReviewed || c.essential))
      .then((reply) => app.say(reply === undefined ? `${name}: not applied, see Changes.` : `${name}: applied by the device.`));
  });

  return h('article', { class: 'card category', 'aria-labelledby': headingId },
    h('h3', { id: headingId }, name, ' ', h('span', { class: `pill ${c.effectiveSetting}` }, `now: ${SETTING_LABEL[c.effectiveSetting as Setting] ?? c.effectiveSetting}`)),
    h('dl', {},
      h('dt', {}, 'What'), h('dd', {}, c.description, c.fields.length > 0 ? ` (${c.fields.map((f) => `${f.name}: ${f.description}`).join('; ')})` : ''),
      h('dt', {}, 'Why'), h('dd', {}, c.purposes.join('; ') || 'not stated'),
      h('dt', {}, 'Who receives it'), h('dd', {}, c.sentTo.length > 0
        ? `${c.sentTo.map((r) => manifest.recipients[r] ?? r).join(', ')} (fields: ${c.sentFields.join(', ')})`
        : `No one now: nothing of it leaves the device.${c.recipients.length === 0 ? '' : ` If you choose minimised or full: ${c.recipients.map((r) => manifest.recipients[r] ?? r).join(', ')}.`}`),
      h('dt', {}, 'How long'), h('dd', {}, `${duration(c.retentionMs)} (at most ${duration(c.retentionMaxMs)})`),
      c.safety ? [h('dt', {}, 'Note'), h('dd', {}, 'Safety data: it cannot be turned off.')] : null),
    h('fieldset', {}, h('legend', {}, `Collection of ${name}`), ...radios.map((r) => r.el)),
    levelField ?? null,
    h('fieldset', { class: 'retention' }, h('legend', {}, `Keep ${name} for`),
      h('div', { class: 'field inline' }, h('label', { for: daysId }, 'Days'), days),
      h('div', { class: 'field inline' }, h('label', { for: hoursId }, 'Hours'), hours)),
    consequenceEl,
    apply);
}
