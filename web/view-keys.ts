import { toHex } from '../agent/crypto/keys.js';
import type { App } from './app-context.js';
import { download, h, uid } from './dom.js';
import { decodeVault, encodeVault } from './vault.js';
import { count } from './words.js';

/** The owner keys: where they live, the backup file, and restoring from one (checked whole before anything is replaced). */
export function keysView(app: App): HTMLElement {
  const vault = app.vault;
  const fileId = uid('restore');
  const file = h('input', { type: 'file', id: fileId, accept: '.json,application/json' });
  file.addEventListener('change', () => void restoreFrom(app, file));
  const backup = h('button', { type: 'button' }, 'Download a backup');
  backup.addEventListener('click', () => {
    if (vault === undefined) return;
    download(`trust-agent-owner-backup-${toHex(vault.keyFile.keys.keyId)}.json`, encodeVault(vault), 'application/json');
    app.say('Backup downloaded. Keep it private: whoever holds it can control your devices.');
  });
  return h('section', { 'aria-labelledby': 'keys-h' },
    h('h2', { id: 'keys-h' }, 'Your keys'),
    vault === undefined ? null : h('p', {}, `Owner key ${toHex(vault.keyFile.keys.keyId)}. Paired devices: ${Object.keys(vault.keyFile.devices).join(', ') || 'none'}.`),
    h('p', {}, 'Your keys are kept in this browser (IndexedDB) and are never sent anywhere: the device only ever sees signatures made with them.'),
    vault === undefined ? null : h('div', { class: 'card' }, h('h3', {}, 'Backup'),
      h('p', {}, 'One file with your keys, the devices you paired, their broker addresses and your receipts. Its "keyFile" part is the command-line companion\'s key file format, and Restore here also accepts that key file.'), backup),
    h('div', { class: 'card' }, h('h3', {}, 'Restore'),
      h('p', {}, 'A damaged or unknown file is refused and nothing here is changed.'),
      h('div', { class: 'field' }, h('label', { for: fileId }, 'Backup file (or a CLI owner key file)'), file)));
}

export async function restoreFrom(app: App, input: HTMLInputElement): Promise<void> {
  const chosen = input.files?.[0];
  if (chosen === undefined) return;
  let next;
  try {
    next = decodeVault(await chosen.text());
  } catch (error) {
    app.say(`Refused: ${error instanceof Error ? error.message : String(error)}. Nothing was changed.`, 'error');
    input.value = '';
    return;
  }
  if (app.vault !== undefined && toHex(app.vault.keyFile.keys.keyId) !== toHex(next.keyFile.keys.keyId)
    && !(await app.confirm('Replace the keys in this browser?', [
      `This browser holds owner key ${toHex(app.vault.keyFile.keys.keyId)}; the backup holds ${toHex(next.keyFile.keys.keyId)}.`,
      'Restoring replaces them: devices paired only with the current key can no longer be controlled from here unless you have its backup.'], 'Replace keys'))) {
    input.value = '';
    return;
  }
  const previous = app.vault;
  app.vault = next;
  try {
    await app.save();
  } catch (error) {
    app.vault = previous;
    app.say(`The browser could not store the backup: ${error instanceof Error ? error.message : String(error)}. Nothing was changed.`, 'error');
    return;
  }
  app.say(`Restored owner key ${toHex(next.keyFile.keys.keyId)} with ${count(Object.keys(next.keyFile.devices).length, 'device')}.`);
  app.render();
}
