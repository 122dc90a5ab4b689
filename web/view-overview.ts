import { buildLabelModel } from '../agent/audit/label-model.js';
import type { Manifest } from '../agent/policy/manifest-types.js';
import type { App } from './app-context.js';
import { h } from './dom.js';
import type { DeviceSession } from './session.js';
import { title } from './words.js';

/** The label's first layer (what, shared with whom, how long, what can be turned off), then review and consent. */
export function overviewView(app: App, session: DeviceSession, manifest: Manifest): HTMLElement {
  const m = buildLabelModel(manifest);
  const list = (items: string[], empty: string): HTMLElement =>
    items.length === 0 ? h('p', {}, empty) : h('ul', {}, ...items.map((item) => h('li', {}, item)));
  return h('section', { 'aria-labelledby': 'overview-h' },
    h('h2', { id: 'overview-h' }, `Privacy label: ${m.device}`),
    h('p', { class: 'lead' }, 'Written and signed by the device from the settings it enforces right now (signature verified).'),
    reviewBox(app, session, manifest),
    ...manifest.categories.filter((c) => c.pendingConsent).map((c) => consentBox(app, session, c.name, c.pendingChanges)),
    h('div', { class: 'grid' },
      h('div', { class: 'card' }, h('h3', {}, 'What is collected'), list(m.collected.map((c) => `${c.title}: ${c.how}`), 'Nothing at the moment.'),
        m.notCollected.length > 0 ? h('p', { class: 'muted' }, `Not collected: ${m.notCollected.join(', ')}.`) : null),
      h('div', { class: 'card' }, h('h3', {}, 'Who receives it'), list(m.shared.map((s) => `${s.to}: ${s.items.join(', ')}`), 'Nothing leaves the device.'),
        m.keptOnDevice.length > 0 ? h('p', { class: 'muted' }, `Kept on the device only: ${m.keptOnDevice.join(', ')}.`) : null),
      h('div', { class: 'card' }, h('h3', {}, 'How long it is kept'), list(m.kept.map((k) => `${k.title}: ${k.duration}`), 'Nothing is kept.'),
        h('p', { class: 'muted' }, 'Then it is deleted, on the device and in its send queue.')),
      h('div', { class: 'card' }, h('h3', {}, 'What you can turn off'),
        list([...m.canTurnOff.map((c) => `${c.title} (on now): turning it off stops ${c.loses}.`), ...m.canTurnOn.map((c) => `${c.title} (off now): turn it on for ${c.gains}.`)], 'Nothing.'),
        m.alwaysOn.length > 0 ? h('p', { class: 'muted' }, `Always on: ${m.alwaysOn.join(', ')}.`) : null),
    ),
    h('p', {}, h('a', { href: '#choices' }, 'See each kind of data and change what is collected')),
  );
}

function reviewBox(app: App, session: DeviceSession, manifest: Manifest): HTMLElement | null {
  if (manifest.manifestReviewed) return null;
  const button = h('button', { type: 'button' }, 'I have reviewed this label');
  button.addEventListener('click', () => {
    button.disabled = true;
    void session.track('Manifest review confirmed', () => session.companion.setPreferences({ manifestReviewed: true }))
      .then((reply) => app.say(reply === undefined ? 'The review was not applied: see Changes.' : 'Review confirmed: the device now follows your settings.'));
  });
  return h('div', { class: 'notice', role: 'region', 'aria-labelledby': 'review-h' },
    h('h3', { id: 'review-h' }, 'Review needed'),
    h('p', {}, 'Until you confirm that you have reviewed this label, the device collects only what it needs to work, whatever the settings below say.'),
    button);
}

function consentBox(app: App, session: DeviceSession, category: string, changes: string[]): HTMLElement {
  const name = title(category);
  const button = h('button', { type: 'button' }, `Accept the new terms for ${name}`);
  button.addEventListener('click', () => {
    button.disabled = true;
    void session.track(`New terms accepted for ${name}`, () => session.companion.acceptTerms([category]))
      .then((reply) => app.say(reply === undefined ? 'Not accepted: see Changes.' : `New terms for ${name} accepted.`));
  });
  return h('div', { class: 'notice', role: 'region', 'aria-label': `Pending consent: ${name}` },
    h('h3', {}, `${name}: an update asks for more`),
    h('p', {}, changes.length > 0 ? changes.join('; ') : 'Updated terms.'),
    h('p', {}, 'Nothing changes until you accept. If you do nothing, the device keeps to the terms you accepted before.'),
    button);
}
