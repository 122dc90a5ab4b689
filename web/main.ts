import { toHex } from '../agent/crypto/keys.js';
import { decodePairingPayload } from '../agent/owner/pairing.js';
import type { App } from './app-context.js';
import { confirmDialog } from './confirm.js';
import { h, replace, uid } from './dom.js';
import { canScan, scanQr, type Scan } from './scan.js';
import { DeviceSession } from './session.js';
import { activityView } from './view-activity.js';
import { auditView } from './view-audit.js';
import { choicesView } from './view-choices.js';
import { keysView, restoreFrom } from './view-keys.js';
import { overviewView } from './view-overview.js';
import { rightsView } from './view-rights.js';
import { decodeVault, newVault } from './vault.js';
import { loadVaultText, saveVault } from './vault-store.js';

const VIEWS = [['label', 'Label'], ['choices', 'Choices'], ['changes', 'Changes'], ['data', 'Your data'], ['audit', 'Audit'], ['keys', 'Keys']] as const;
type ViewName = (typeof VIEWS)[number][0] | 'pair';

const root = document.getElementById('app') as HTMLElement;
const live = document.getElementById('live') as HTMLElement;
const statusBar = document.getElementById('status') as HTMLElement;
let view: ViewName = 'label';
let deviceId: string | undefined;
let shownManifest = '';
/** Set when the stored keys cannot be read: shown instead of any screen until the owner restores or starts over. */
let storeError: string | undefined;
/** The camera while the pair screen scans: stopped whenever the screen is drawn anew or left. */
let activeScan: Scan | undefined;

const app: App = {
  vault: undefined,
  session: undefined,
  async save() {
    if (app.vault !== undefined) await saveVault(app.vault);
  },
  say(text, kind = 'info') {
    replace(live, h('p', { class: kind === 'error' ? 'error' : 'ok' }, text));
  },
  confirm: confirmDialog,
  render,
};

function hashParam(name: string): string | undefined {
  return new URLSearchParams(location.hash.replace(/^#/, '')).get(name) ?? undefined;
}

async function boot(): Promise<void> {
  const requested = location.hash.replace(/^#/, '');
  if (VIEWS.some(([name]) => name === requested)) view = requested as ViewName;
  try {
    const text = await loadVaultText();
    app.vault = text === undefined ? undefined : decodeVault(text);
  } catch (error) {
    storeError = `The key store in this browser is damaged: ${error instanceof Error ? error.message : String(error)}`;
  }
  deviceId = Object.keys(app.vault?.keyFile.devices ?? {})[0];
  render();
  if (deviceId !== undefined) await openDevice(deviceId);
}

async function openDevice(id: string): Promise<void> {
  await app.session?.close();
  app.session = undefined;
  deviceId = id;
  const vault = app.vault;
  const device = vault?.keyFile.devices[id];
  const url = vault?.brokers[id];
  if (vault === undefined || device === undefined || url === undefined) { render(); return; }
  renderStatus();
  try {
    const session = await DeviceSession.open({ brokerUrl: url, deviceId: id, ownerKeys: vault.keyFile.keys, devicePublicKeys: device });
    app.session = session;
    session.onUpdate(onSessionUpdate);
  } catch (error) {
    app.say(`Cannot reach the broker at ${url}: ${error instanceof Error ? error.message : String(error)}. Showing offline; reload to retry.`, 'error');
  }
  render();
}

function onSessionUpdate(): void {
  renderStatus();
  const hash = app.session?.manifest?.contentHash ?? '';
  const manifestChanged = hash !== shownManifest;
  if (view === 'changes' || (manifestChanged && (view === 'label' || view === 'choices' || view === 'data'))) renderView();
}

function render(): void {
  renderStatus();
  renderView();
}

function renderStatus(): void {
  const session = app.session;
  const link = session === undefined ? (deviceId === undefined ? undefined : false) : session.linkUp;
  const device = session?.deviceStatus ?? 'unknown';
  replace(statusBar,
    link === undefined ? null : h('span', { class: `badge ${link ? 'good' : 'bad'}` }, link ? 'Connected to the broker' : 'Offline: no connection to the broker'),
    // Without the broker the device's status is not known: an old "online" must not stay on screen.
    session === undefined ? null : !session.linkUp ? h('span', { class: 'badge' }, `${session.deviceId}: status unknown while offline`)
      : h('span', { class: `badge ${device === 'online' ? 'good' : device === 'offline' ? 'bad' : ''}` },
        device === 'online' ? `${session.deviceId} is online` : device === 'offline' ? `${session.deviceId} is offline` : `${session.deviceId}: status unknown`));
}

function renderView(): void {
  activeScan?.stop();
  activeScan = undefined;
  const vault = app.vault;
  if (storeError !== undefined) return replace(root, storeProblem(storeError));
  if (vault === undefined) return replace(root, welcome());
  if (deviceId === undefined || view === 'pair') return replace(root, nav(), pairScreen());
  const session = app.session;
  const manifest = session?.manifest;
  shownManifest = manifest?.contentHash ?? '';
  let body: HTMLElement;
  if (view === 'keys') body = keysView(app);
  else if (session === undefined) body = h('p', {}, 'Not connected to the broker: nothing can be shown as the device\'s current state.');
  else if (view === 'changes') body = activityView(session);
  else if (view === 'audit') body = auditView(app, session);
  else if (manifest === undefined) body = h('p', {}, 'Waiting for the device\'s signed privacy manifest...');
  else if (view === 'choices') body = choicesView(app, session, manifest);
  else if (view === 'data') body = rightsView(app, session, manifest);
  else body = overviewView(app, session, manifest);
  replace(root, nav(), body);
}

function nav(): HTMLElement {
  const ids = Object.keys(app.vault?.keyFile.devices ?? {});
  const pickerId = uid('device');
  const picker = ids.length < 2 ? null : h('div', { class: 'field inline' }, h('label', { for: pickerId }, 'Device'),
    h('select', { id: pickerId, onchange: (e: Event) => void openDevice((e.target as HTMLSelectElement).value) },
      ...ids.map((id) => h('option', { value: id, selected: id === deviceId }, id))));
  return h('nav', { 'aria-label': 'Screens' }, picker,
    h('ul', {}, ...[...(deviceId === undefined ? [] : VIEWS), ['pair', 'Pair a device'] as const].map(([name, label]) =>
      h('li', {}, h('a', { href: `#${name}`, 'aria-current': view === name ? 'page' : undefined }, label)))));
}

function welcome(): HTMLElement {
  const create = h('button', { type: 'button' }, 'Create my owner keys');
  create.addEventListener('click', async () => {
    app.vault = newVault();
    await app.save();
    app.say(`Owner key ${toHex(app.vault.keyFile.keys.keyId)} created and kept in this browser. Download a backup under Keys once you have paired.`);
    view = 'pair';
    render();
  });
  return h('section', { 'aria-labelledby': 'welcome-h' },
    h('h2', { id: 'welcome-h' }, 'Welcome'),
    h('p', {}, 'This app controls what your devices collect about you. It keeps your owner keys in this browser only.'),
    h('div', { class: 'grid' }, h('div', { class: 'card' }, h('h3', {}, 'New here'), create), keysView(app)));
}

function storeProblem(message: string): HTMLElement {
  const fileId = uid('restore');
  const file = h('input', { type: 'file', id: fileId, accept: '.json,application/json' });
  file.addEventListener('change', () => void restoreFrom(app, file).then(() => { if (app.vault !== undefined) { storeError = undefined; void boot(); } }));
  return h('section', { 'aria-labelledby': 'problem-h' },
    h('h2', { id: 'problem-h' }, 'Your stored keys cannot be read'),
    h('p', { class: 'error', role: 'alert' }, `${message}. Nothing was changed or overwritten.`),
    h('p', {}, 'Restore them from your backup file. Your devices keep their data and settings meanwhile.'),
    h('div', { class: 'field' }, h('label', { for: fileId }, 'Backup file'), file));
}

function pairScreen(): HTMLElement {
  const brokerId = uid('broker');
  const payloadId = uid('payload');
  const broker = h('input', { id: brokerId, type: 'url', required: true, value: hashParam('broker') ?? Object.values(app.vault?.brokers ?? {})[0] ?? '', placeholder: 'wss://broker.example:8884', autocomplete: 'url' });
  const payload = h('textarea', { id: payloadId, rows: 3, required: true, placeholder: 'ta1:...', spellcheck: false, 'aria-describedby': `${payloadId}-hint` });
  const camera = h('div', { class: 'camera' });
  const pairButton = h('button', { type: 'submit' }, 'Pair');
  const scanButton = canScan() ? h('button', { type: 'button', class: 'secondary' }, 'Scan the QR code') : null;
  const form = h('form', { 'aria-labelledby': 'pair-h' },
    h('h2', { id: 'pair-h' }, 'Pair a device'),
    h('p', {}, 'Press the pairing button on the device: it shows a QR code (and its text, starting with ta1:) for a few minutes.'),
    h('div', { class: 'field' }, h('label', { for: brokerId }, 'Broker address (MQTT over secure WebSockets)'), broker),
    h('div', { class: 'field' }, h('label', { for: payloadId }, 'Pairing code'), payload,
      h('p', { id: `${payloadId}-hint`, class: 'muted' }, canScan() ? 'Scan the QR code with the camera (the picture stays in this browser), or paste its text.' : 'Paste the text under the QR code (this page cannot use a camera here).')),
    scanButton, camera, pairButton);
  scanButton?.addEventListener('click', () => {
    if (activeScan !== undefined) { activeScan.stop(); return; }
    const scan = scanQr(camera, () => app.say('That QR code is not a device pairing code (it does not start with ta1:). Hold up the code the device shows.', 'error'));
    activeScan = scan;
    scanButton.textContent = 'Stop the camera';
    app.say('Camera on: hold the device\'s QR code in front of it.');
    scan.result.then((text) => {
      if (activeScan !== scan) return; // the owner left the screen: nothing to say here
      if (text === undefined) return app.say('Scanning cancelled: the camera is off. You can paste the code instead.');
      payload.value = text;
      if (!broker.checkValidity()) return app.say('QR code read. Enter the broker address, then press Pair.');
      app.say('QR code read.');
      form.requestSubmit();
    }, (error: unknown) => activeScan === scan && app.say(`${error instanceof Error ? error.message : String(error)}.`, 'error')).finally(() => {
      if (activeScan === scan) activeScan = undefined;
      scanButton.textContent = 'Scan the QR code';
    });
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    pairButton.disabled = true;
    void pair(broker.value.trim(), payload.value.trim()).finally(() => { pairButton.disabled = false; });
  });
  return form;
}

async function pair(brokerUrl: string, text: string): Promise<void> {
  const vault = app.vault;
  if (vault === undefined) return;
  let session: DeviceSession | undefined;
  try {
    const payload = decodePairingPayload(text);
    app.say(`Pairing with ${payload.deviceId}...`);
    session = await DeviceSession.open({ brokerUrl, deviceId: payload.deviceId, ownerKeys: vault.keyFile.keys });
    const result = await session.companion.pair(payload, { timeoutMs: 15_000 });
    vault.keyFile.devices[payload.deviceId] = { deviceType: payload.deviceType, ...result.devicePublicKeys };
    vault.brokers[payload.deviceId] = brokerUrl;
    await app.save();
    app.say(`Paired with ${payload.deviceId} (${payload.deviceType}). Review its privacy label below.`);
    view = 'label';
    history.replaceState(null, '', '#label');
    await session.close();
    await openDevice(payload.deviceId);
  } catch (error) {
    await session?.close();
    const code = (error as { code?: string }).code;
    app.say(`Pairing failed${code === undefined ? '' : ` [${code}]`}: ${error instanceof Error ? error.message : String(error)}. Nothing was saved.`, 'error');
  }
}

window.addEventListener('hashchange', () => {
  const next = location.hash.replace(/^#/, '');
  if ([...VIEWS.map(([name]) => name), 'pair'].includes(next)) {
    view = next as ViewName;
    // A message about the previous screen would read as if it were about this one.
    replace(live);
    renderView();
    // Keyboard and screen-reader users land on the new screen's content, not back at the top of the page.
    root.focus();
  }
});

void boot();
