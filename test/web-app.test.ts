import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nacl from 'tweetnacl';
import type { Browser, Page } from 'playwright-core';
import { signDocument } from '../agent/crypto/sign.js';
import { registryFor } from '../agent/policy/index.js';
import { topics } from '../agent/topics.js';
import { serveWebApp, type WebServer } from '../companion/serve.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../simulator/broker.js';
import { openLink, type Link } from '../simulator/run/link.js';
import { axeViolations, launchChromium, screenshot } from './helpers/browser.js';
import {
  brokerWorld, closeStorage, makeAgent, removeTempDirs, startCollector, until, type CollectorHarness, type KitAgent, type World,
} from './helpers/agent-kit.js';

/**
 * The companion web app in a real browser (Debian's chromium through playwright-core) against a real agent, the
 * embedded broker's WebSocket-over-TLS listener and a real collector. One household, one story, in order.
 */
let broker: EmbeddedBroker;
let world: World;
let server: WebServer;
let browser: Browser;
let page: Page;
let link: Link;
let kit: KitAgent;
let col: CollectorHarness;
const deviceId = `web-thermo-${process.pid}`;

beforeAll(async () => {
  broker = await startEmbeddedBroker({ tls: true, websocketPort: 0 });
  world = brokerWorld(broker.url, broker.caPem);
  // The device dials through a cuttable relay, so the test can take it offline as a dead network would.
  link = await openLink(broker.url);
  col = await startCollector(world);
  kit = await makeAgent(world, { deviceId, recipientPublicKey: col.publicKey, transport: world.agentTransport({ url: link.url }) });
  col.collector.addDevice(deviceId, kit.agent.publicKeys.box);
  await kit.agent.start();
  server = await serveWebApp({ port: 0 });
  browser = await launchChromium(broker.caPem);
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (error) => console.error('page error:', error.message));
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await kit?.agent.stop();
  if (kit !== undefined) await closeStorage(kit.storage);
  await col?.close();
  await link?.close();
  await world?.close();
  await broker?.close();
  removeTempDirs();
});

/** Just what the page-side IndexedDB snippets use (this file is typechecked without the DOM library). */
interface IdbRequest<T> { result: T; onsuccess: (() => void) | null; onerror: (() => void) | null }
interface IdbLike {
  open(name: string, version: number): IdbRequest<{
    transaction(store: string, mode?: string): { objectStore(name: string): { put(v: string, k: string): void; get(k: string): IdbRequest<unknown> }; oncomplete: (() => void) | null };
    close(): void;
  }>;
}

let backupText = '';
const lastBackup = (): string => backupText;
const nav = (name: string) => page.getByRole('navigation').getByRole('link', { name, exact: true }).click();
const lastChange = () => page.locator('ol.changes > li').first();

describe('companion web app in chromium', () => {
  it('creates keys and pairs by pasting the payload', async () => {
    await page.goto(`${server.url}#pair&broker=${encodeURIComponent(broker.wsUrl ?? '')}`);
    await page.getByRole('button', { name: 'Create my owner keys' }).click();
    await expect.poll(() => page.getByLabel('Broker address (MQTT over secure WebSockets)').inputValue()).toBe(broker.wsUrl);
    await page.getByLabel('Pairing code').fill(kit.agent.openPairingWindow().payload);
    await page.getByRole('button', { name: 'Pair', exact: true }).click();
    await page.getByText(`Paired with ${deviceId}`).waitFor();
    await page.getByRole('heading', { name: 'Privacy label: Thermostat' }).waitFor();
    await expect.poll(() => page.locator('#status').textContent()).toContain(`${deviceId} is online`);
    await screenshot(page, 'desktop-label-review');
  });

  it('confirms the review, then turns climate off: the collector receives no climate reading afterwards', async () => {
    await page.getByRole('button', { name: 'I have reviewed this label' }).click();
    await page.getByText('Review confirmed').waitFor();
    await kit.agent.record('climate', { temperatureC: 21.3, humidityPct: 44 });
    await until(() => col.data(deviceId, 'climate').length === 1, 'a climate reading while climate is on', 10_000);

    await nav('Choices');
    const card = page.getByRole('article', { name: /Climate/ });
    await card.getByRole('radio', { name: 'Off' }).check();
    await expect.poll(() => card.locator('.consequence').textContent()).toContain('Not collected at all. Stops working: room climate in the app');
    await screenshot(page, 'desktop-choices');
    await card.getByRole('button', { name: 'Apply to Climate' }).click();
    await page.getByText('Climate: applied by the device.').waitFor();
    await nav('Changes');
    await expect.poll(() => lastChange().getAttribute('data-status')).toBe('applied');
    expect(await lastChange().textContent()).toContain('signed its enforced state');

    await kit.agent.record('climate', { temperatureC: 22.1, humidityPct: 40 });
    await kit.agent.record('hvac', { mode: 'heat', running: true, setpointC: 21 });
    await until(() => col.data(deviceId, 'hvac').length === 1, 'the hvac reading after it', 10_000);
    expect(col.data(deviceId, 'climate')).toHaveLength(1);
  });

  it('a change made while the device is offline shows as waiting, then applied when it reconnects', async () => {
    link.cut();
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 10_000 }).toContain(`${deviceId} is offline`);
    await nav('Choices');
    const card = page.getByRole('article', { name: /Comfort/ });
    await card.getByRole('radio', { name: 'Full' }).check();
    await card.getByRole('button', { name: 'Apply to Comfort' }).click();
    await nav('Changes');
    await expect.poll(() => lastChange().getAttribute('data-status')).toBe('waiting');
    expect(await lastChange().textContent()).toContain('Waiting for the device to come online');
    await screenshot(page, 'desktop-changes-waiting');
    link.restore();
    await expect.poll(() => lastChange().getAttribute('data-status'), { timeout: 20_000 }).toBe('applied');
    await expect.poll(() => page.locator('#status').textContent()).toContain(`${deviceId} is online`);
  });

  it('a policy update that asks for more waits for explicit consent, shown on the label', async () => {
    const shipped = registryFor('thermostat');
    await kit.agent.rights.updateRegistry({
      ...shipped, version: shipped.version + 1,
      categories: shipped.categories.map((c) => (c.name === 'comfort' ? { ...c, recipients: [...c.recipients, 'analytics'] } : c)),
    });
    await nav('Label');
    const box = page.getByRole('region', { name: 'Pending consent: Comfort' });
    await box.waitFor({ timeout: 10_000 });
    expect(await box.textContent()).toContain('Nothing changes until you accept');
    await screenshot(page, 'desktop-label-consent');
    await box.getByRole('button', { name: 'Accept the new terms for Comfort' }).click();
    await page.getByText('New terms for Comfort accepted.').waitFor({ timeout: 10_000 });
    await box.waitFor({ state: 'detached', timeout: 10_000 });
  });

  it('a forged state is shown as not believed and never as applied', async () => {
    await nav('Changes');
    const forger = nacl.sign.keyPair();
    const forged = { v: 1, deviceId, paired: true, version: 99, enforced: { categories: { climate: { setting: 'full' } } }, issuedAt: Date.now() + 1000 };
    const transport = world.clientTransport()({ clientId: `forger-${process.pid}`, cleanSession: true });
    await transport.connect();
    await transport.publish(topics.state(deviceId), signDocument(forged, forger.secretKey), { qos: 1 });
    await transport.close();
    await page.getByText(/Ignored a message on "state": its signature is not the device's/).waitFor();
    expect(await page.locator('.card').filter({ hasText: 'Settings version' }).textContent()).not.toContain('version 99');
  });

  it('erases everything after a confirmation that says preferences reset, and keeps the verified receipt', async () => {
    await nav('Your data');
    await page.getByRole('button', { name: 'Erase all my data' }).click();
    const dialog = page.getByRole('dialog', { name: 'Erase all your data on this device?' });
    expect(await dialog.textContent()).toContain('Your preferences are reset');
    await screenshot(page, 'desktop-erase-confirm');
    await dialog.getByRole('button', { name: 'Erase all my data' }).click();
    await page.getByText('The device\'s signed receipt was verified and kept.').waitFor({ timeout: 15_000 });
    await page.locator('ul.receipts li', { hasText: 'Erase all data' }).getByText(/records? removed.*Signature verified/).waitFor();
    await screenshot(page, 'desktop-data');
  });

  it('exports the data as files a person can open: JSON and CSV downloads', async () => {
    await kit.agent.record('hvac', { mode: 'cool', running: false, setpointC: 24 });
    await nav('Your data');
    await page.getByRole('button', { name: 'Export my data (JSON and CSV)' }).click();
    const downloads: Array<{ name: string; text: string }> = [];
    page.on('download', (d) => void d.path().then(async (path) => downloads.push({ name: d.suggestedFilename(), text: (await import('node:fs')).readFileSync(path, 'utf8') })));
    await page.getByRole('dialog', { name: 'Export your data?' }).getByRole('button', { name: 'Export' }).click();
    await expect.poll(() => downloads.length, { timeout: 15_000 }).toBe(2);
    const json = downloads.find((d) => d.name.endsWith('.json'));
    const csv = downloads.find((d) => d.name.endsWith('.csv'));
    expect(JSON.parse(json?.text ?? '{}')).toMatchObject({ deviceId, records: expect.arrayContaining([expect.objectContaining({ category: 'hvac' })]) });
    expect(csv?.text.split('\r\n')[0]).toMatch(/^category,recordedAt,expiresAt,sent,/);
    await page.locator('ul.receipts li', { hasText: 'Export' }).getByText(/sealed to your key.*Signature verified/).waitFor();
  });

  it('a damaged backup is refused with a clear message and nothing is replaced; a good one restores', async () => {
    await nav('Keys');
    const keyLine = await page.getByText(/^Owner key [0-9a-f]{16}\./).textContent();
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download a backup' }).click();
    const backup = (await import('node:fs')).readFileSync(await (await download).path(), 'utf8');
    backupText = backup;
    expect(JSON.parse(backup)).toMatchObject({ format: 'ta-companion-backup', v: 1, brokers: { [deviceId]: broker.wsUrl } });
    const file = page.getByLabel('Backup file (or a CLI owner key file)');
    await file.setInputFiles({ name: 'broken.json', mimeType: 'application/json', buffer: Buffer.from(backup.replace(/"signSecretKey": "[0-9a-f]{8}/, '"signSecretKey": "zz')) });
    await page.getByText(/^Refused: the owner keys in this file are damaged.*Nothing was changed\./).waitFor();
    await file.setInputFiles({ name: 'junk.json', mimeType: 'application/json', buffer: Buffer.from('{"format":"ta-companion-backup","v":1') });
    await page.getByText('Refused: this file is not a companion backup (it is not JSON). Nothing was changed.').waitFor();
    expect(await page.getByText(/^Owner key [0-9a-f]{16}\./).textContent()).toBe(keyLine);
    await file.setInputFiles({ name: 'good.json', mimeType: 'application/json', buffer: Buffer.from(backup) });
    await page.getByText(/^Restored owner key [0-9a-f]{16} with 1 device\./).waitFor();
  });

  it('a damaged key store is refused on load: the app says so and overwrites nothing', async () => {
    const stored = await page.evaluate(() => new Promise<string>((resolve, reject) => {
      const open = (globalThis as unknown as { indexedDB: IdbLike }).indexedDB.open('trust-agent-companion', 1);
      open.onerror = () => reject(new Error('open'));
      open.onsuccess = () => {
        const tx = open.result.transaction('vault', 'readwrite');
        const store = tx.objectStore('vault');
        store.put('{"format":"ta-companion-backup","v":1,"keyFile":{"v":1,"signSecretKey":"00"}}', 'vault');
        tx.oncomplete = () => { open.result.close(); resolve('ok'); };
      };
    }));
    expect(stored).toBe('ok');
    await page.reload();
    await page.getByRole('heading', { name: 'Your stored keys cannot be read' }).waitFor();
    expect(await page.getByRole('alert').textContent()).toContain('Nothing was changed or overwritten');
    const after = await page.evaluate(() => new Promise<string>((resolve) => {
      const open = (globalThis as unknown as { indexedDB: IdbLike }).indexedDB.open('trust-agent-companion', 1);
      open.onsuccess = () => {
        const get = open.result.transaction('vault').objectStore('vault').get('vault');
        get.onsuccess = () => { open.result.close(); resolve(String(get.result)); };
      };
    }));
    expect(after).toContain('"signSecretKey":"00"');
    await screenshot(page, 'desktop-keystore-damaged');
    // The owner restores the backup made above: the app works again.
    const backup = page.getByLabel('Backup file');
    await backup.setInputFiles({ name: 'good.json', mimeType: 'application/json', buffer: Buffer.from(lastBackup()) });
    await page.getByText(/^Owner key [0-9a-f]{16}\. Paired devices: web-thermo/).waitFor({ timeout: 15_000 });
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 15_000 }).toContain(`${deviceId} is online`);
  });

  it('shows offline when the connection to the broker is lost, and connected again after', async () => {
    const restarted = broker.restart({ downMs: 4_000 });
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 10_000 }).toContain('Offline: no connection to the broker');
    expect(await page.locator('#status').textContent()).toContain('status unknown while offline');
    await screenshot(page, 'desktop-offline');
    await restarted;
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 20_000 }).toContain('Connected to the broker');
  });

  it('shows the verified audit trail as a timeline', async () => {
    await nav('Audit');
    await page.getByRole('button', { name: 'Fetch and verify the audit trail' }).click();
    await page.getByText(/^Verified: \d+ entr(y|ies), \d+ signed checkpoints?/).waitFor({ timeout: 15_000 });
    expect(await page.locator('ol.timeline li').count()).toBeGreaterThan(3);
    await screenshot(page, 'desktop-audit');
  });

  it('has no serious or critical accessibility violations on any screen, at phone and desktop width', async () => {
    const found: string[] = [];
    for (const width of [390, 1280]) {
      await page.setViewportSize({ width, height: 844 });
      for (const screen of ['Label', 'Choices', 'Changes', 'Your data', 'Audit', 'Keys']) {
        await nav(screen);
        await page.getByRole('heading', { level: 2 }).first().waitFor();
        for (const v of await axeViolations(page)) found.push(`${width}px ${screen}: ${v.id} (${v.impact}) ${v.nodes.join(', ')}`);
        if (width === 390) await screenshot(page, `phone-${screen.toLowerCase().replace(/ /g, '-')}`);
      }
    }
    expect(found).toEqual([]);
  });
});
