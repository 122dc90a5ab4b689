import type { VerifyResult } from '../agent/audit/verify.js';
import type { App } from './app-context.js';
import { h, replace, when } from './dom.js';
import type { DeviceSession } from './session.js';
import { auditSentence, count } from './words.js';

/** The last verified trail per device, so it is still there after moving between screens. */
const shown = new Map<string, HTMLElement>();

/** The device's audit trail, its hash chain and signed checkpoints verified here, as a timeline. */
export function auditView(app: App, session: DeviceSession): HTMLElement {
  const out = h('div', { 'aria-live': 'polite' }, shown.get(session.deviceId) ?? null);
  const button = h('button', { type: 'button' }, 'Fetch and verify the audit trail');
  button.addEventListener('click', async () => {
    button.disabled = true;
    replace(out, h('p', {}, 'Asking the device for its trail...'));
    try {
      const { trail, verification } = await session.companion.fetchVerifiedAuditTrail({ timeoutMs: 15_000 });
      const result = timeline(verification, trail.length);
      shown.set(session.deviceId, result);
      replace(out, result);
    } catch (error) {
      replace(out, h('p', { class: 'error' }, `Could not fetch the trail: ${error instanceof Error ? error.message : String(error)}.`));
      app.say('The audit trail could not be fetched.', 'error');
    } finally {
      button.disabled = false;
    }
  });
  return h('section', { 'aria-labelledby': 'audit-h' },
    h('h2', { id: 'audit-h' }, 'Audit trail'),
    h('p', { class: 'lead' }, 'Every privacy decision the device made, chained by hashes and signed by the device. The check runs here, in your browser.'),
    button, out);
}

function timeline(v: VerifyResult, bytes: number): HTMLElement {
  const verdict = v.ok
    ? h('p', { class: 'ok' }, `Verified: ${count(v.entries, 'entry', 'entries')}, ${count(v.checkpoints, 'signed checkpoint')} (${bytes} bytes).`)
    : h('p', { class: 'error' }, `DOES NOT VERIFY: ${v.firstBreak?.kind ?? 'corrupt'} at entry ${v.firstBreak?.index ?? '?'}. Only the ${v.trusted.length} entries before it are shown; nothing after it can be trusted.`);
  const entries = [...v.trusted].reverse();
  return h('div', {}, verdict,
    h('ol', { class: 'timeline', reversed: true },
      ...entries.map((e) => h('li', {}, h('time', { datetime: new Date(e.at).toISOString() }, when(e.at)), ' ', auditSentence(e)))));
}
