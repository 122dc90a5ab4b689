import { fromHex } from '../agent/crypto/keys.js';
import type { Manifest } from '../agent/policy/manifest-types.js';
import type { AcceptedReply } from '../agent/owner/replies.js';
import { exportToCsv, exportToJson } from '../companion/export-format.js';
import type { App } from './app-context.js';
import { download, h, uid, when } from './dom.js';
import type { DeviceSession } from './session.js';
import { receiptHex } from './vault.js';
import { KIND_WORDS, receiptWords, title } from './words.js';

/** Data rights, each behind a confirmation that says what will happen; every receipt verified and kept. */
export function rightsView(app: App, session: DeviceSession, manifest: Manifest): HTMLElement {
  const categoryId = uid('erase-cat');
  const personId = uid('erase-person');
  const category = h('select', { id: categoryId }, ...manifest.categories.map((c) => h('option', { value: c.name }, title(c.name))));
  const person = h('input', { id: personId, type: 'text', autocomplete: 'off', placeholder: 'e.g. the name or code the device uses' });
  const keep = async (reply: AcceptedReply | undefined): Promise<void> => {
    if (reply?.receipt === undefined || app.vault === undefined) return;
    const receipt = session.companion.verifyReceipt(reply.receipt);
    app.vault.receipts.unshift({ deviceId: session.deviceId, kind: receipt.kind, issuedAt: receipt.issuedAt, signed: receiptHex(reply.receipt) });
    await app.save();
    app.render();
    app.say(`Done: ${KIND_WORDS[receipt.kind] ?? receipt.kind}, ${receiptWords(receipt.details)}. The device's signed receipt was verified and kept.`);
  };
  const action = (label: string, heading: string, lines: () => string[] | undefined, run: () => Promise<AcceptedReply>, change: string): HTMLButtonElement => {
    const button = h('button', { type: 'button', class: 'danger' }, label);
    button.addEventListener('click', async () => {
      const text = lines();
      if (text === undefined || !(await app.confirm(heading, text, label))) return;
      await keep(await session.track(change, run));
    });
    return button;
  };
  const eraseAll = action('Erase all my data', 'Erase all your data on this device?', () => [
    'Every reading the device holds is deleted, including what waits in its send queue, and the keys that protect it are destroyed: it cannot be recovered.',
    'Your preferences are reset to the privacy-protective defaults (non-essential data off). You stay the owner.',
    'The device signs a receipt, which this app verifies and keeps.',
  ], () => session.companion.eraseAll(), 'Erase all data (preferences reset)');
  const eraseCategory = action('Erase this kind of data', 'Erase one kind of data?', () => [
    `Every stored reading of "${title(category.value)}" is deleted (also from the send queue). Your settings do not change: if it is on, new readings are collected again.`,
    'The device signs a receipt, which this app verifies and keeps.',
  ], () => session.companion.eraseCategory(category.value), 'Erase one kind of data');
  const erasePerson = action('Erase this person\'s data', 'Erase one person\'s data?', () => {
    if (person.value.trim() === '') { app.say('Enter who to erase first.', 'error'); person.focus(); return undefined; }
    return [`Every reading that names "${person.value.trim()}" is deleted on this device (also in pseudonymised form). Other people's data and your settings stay.`,
      'The name travels sealed to the device; the receipt says how much was removed, not who.'];
  }, () => session.companion.eraseUser(person.value.trim()), 'Erase one person\'s data');
  const transfer = action('Transfer this device', 'Hand this device over?', () => [
    'All data on the device is erased, its keys are replaced and your preferences are reset. It forgets you as its owner: this browser can no longer change it.',
    'Use this before you sell or give away the device. The new owner pairs with it from scratch.',
  ], () => session.companion.transfer(), 'Transfer (erase, new keys, forget owner)');

  const exportButton = h('button', { type: 'button' }, 'Export my data (JSON and CSV)');
  exportButton.addEventListener('click', async () => {
    if (!(await app.confirm('Export your data?', ['The device seals a copy of everything it holds about you to this browser\'s key; only this browser can open it.',
      'Two files are downloaded: JSON (complete) and CSV (one row per reading, for a spreadsheet). Nothing is erased.'], 'Export'))) return;
    let opened: Uint8Array | undefined;
    const reply = await session.track('Export of your data', async () => {
      const result = await session.companion.exportData();
      opened = result.data;
      return result.reply;
    });
    if (opened === undefined) return;
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    download(`${session.deviceId}-export-${stamp}.json`, exportToJson(opened), 'application/json');
    download(`${session.deviceId}-export-${stamp}.csv`, exportToCsv(opened), 'text/csv');
    await keep(reply);
  });

  return h('section', { 'aria-labelledby': 'rights-h' },
    h('h2', { id: 'rights-h' }, 'Your data'),
    h('p', { class: 'lead' }, 'Each request asks you to confirm first and says what will happen. The device answers with a signed receipt.'),
    h('div', { class: 'grid' },
      h('div', { class: 'card' }, h('h3', {}, 'Get a copy'), exportButton),
      h('div', { class: 'card' }, h('h3', {}, 'Erase one kind of data'), h('div', { class: 'field' }, h('label', { for: categoryId }, 'Kind of data'), category), eraseCategory),
      h('div', { class: 'card' }, h('h3', {}, 'Erase one person (shared device)'), h('div', { class: 'field' }, h('label', { for: personId }, 'Person'), person), erasePerson),
      h('div', { class: 'card' }, h('h3', {}, 'Erase everything'), h('p', {}, 'Deletes all data and resets your preferences.'), eraseAll),
      h('div', { class: 'card' }, h('h3', {}, 'Hand over the device'), transfer)),
    receiptsList(app, session));
}

function receiptsList(app: App, session: DeviceSession): HTMLElement {
  const mine = (app.vault?.receipts ?? []).filter((r) => r.deviceId === session.deviceId);
  return h('div', {},
    h('h3', {}, 'Receipts kept in this browser'),
    mine.length === 0 ? h('p', {}, 'None yet.') : h('ul', { class: 'receipts' }, ...mine.map((r) => {
      let verdict: string;
      try {
        const receipt = session.companion.verifyReceipt(fromHex(r.signed, 'receipt'));
        verdict = `${receiptWords(receipt.details)}. Signature verified.`;
      } catch {
        verdict = 'DOES NOT VERIFY against the device key (changed, or signed by an earlier key)';
      }
      return h('li', {}, h('strong', {}, KIND_WORDS[r.kind] ?? r.kind), ` (${when(r.issuedAt)}): ${verdict}`);
    })));
}
