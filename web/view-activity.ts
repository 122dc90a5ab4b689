import { h, when } from './dom.js';
import type { Change, ChangeStatus, DeviceSession } from './session.js';
import { duration, receiptWords, SETTING_LABEL, title, type Setting } from './words.js';

const STATUS_WORDS: Record<ChangeStatus, string> = {
  sent: 'Sent',
  waiting: 'Waiting for the device',
  applied: 'Applied',
  rejected: 'Rejected',
  failed: 'Not applied',
};

interface EnforcedCategory { setting?: string; sentFields?: string[]; retentionMs?: number; pendingConsent?: boolean }

/** Every change with its state; what the device signed; and what was received but not believed. */
export function activityView(session: DeviceSession): HTMLElement {
  const state = session.state;
  return h('section', { 'aria-labelledby': 'changes-h' },
    h('h2', { id: 'changes-h' }, 'Changes'),
    h('p', { class: 'lead' }, 'A change counts as applied only when the device answers with its signed enforced state.'),
    session.changes.length === 0 ? h('p', {}, 'No changes sent from this browser yet.')
      : h('ol', { class: 'changes', 'aria-live': 'polite' }, ...session.changes.map(changeItem)),
    h('h3', {}, 'State the device signed'),
    state === undefined ? h('p', {}, 'No signed state received yet.')
      : h('div', { class: 'card' },
        h('p', {}, `Settings version ${state.version}, signed ${when(state.issuedAt)} (signature verified).`),
        enforcedTable((state.enforced as { categories?: Record<string, EnforcedCategory> } | undefined)?.categories)),
    session.notices.length === 0 ? null : h('div', {},
      h('h3', {}, 'Messages not believed'),
      h('ul', { class: 'notices' }, ...session.notices.map((n) => h('li', {}, `${when(n.at)}: ${n.text}`)))),
  );
}

function changeItem(change: Change): HTMLElement {
  const enforced = (change.reply?.enforced as { categories?: Record<string, EnforcedCategory> } | undefined)?.categories;
  return h('li', { class: `change ${change.status}`, 'data-status': change.status },
    h('div', { class: 'change-head' }, h('span', { class: `status ${change.status}` }, STATUS_WORDS[change.status]), ' ', h('strong', {}, change.title)),
    h('p', {}, change.detail),
    change.receipt === undefined ? null : h('p', {}, `Receipt verified (${receiptWords(change.receipt.details)}), signed ${when(change.receipt.issuedAt)}; kept under Your data.`),
    change.status === 'applied' && enforced !== undefined
      ? h('details', {}, h('summary', {}, 'What the device now enforces (signed)'), enforcedTable(enforced)) : null,
    h('p', { class: 'muted' }, when(change.at)));
}

function enforcedTable(categories: Record<string, EnforcedCategory> | undefined): HTMLElement {
  if (categories === undefined) return h('p', {}, 'The signed state lists no categories.');
  // Focusable so a keyboard user can scroll it at phone width.
  return h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': 'Enforced settings (scrollable)' }, h('table', {},
    h('caption', { class: 'sr-only' }, 'Enforced settings per kind of data'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Data'), h('th', { scope: 'col' }, 'Enforced'), h('th', { scope: 'col' }, 'Fields sent'), h('th', { scope: 'col' }, 'Kept'))),
    h('tbody', {}, ...Object.entries(categories).map(([name, c]) => h('tr', {},
      h('th', { scope: 'row' }, title(name)),
      h('td', {}, SETTING_LABEL[c.setting as Setting] ?? String(c.setting), c.pendingConsent === true ? ' (update waiting for consent)' : ''),
      h('td', {}, c.sentFields === undefined || c.sentFields.length === 0 ? 'none' : c.sentFields.join(', ')),
      h('td', {}, typeof c.retentionMs === 'number' ? duration(c.retentionMs) : '')))),
  ));
}
