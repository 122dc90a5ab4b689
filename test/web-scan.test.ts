import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { serveWebApp, type WebServer } from '../companion/serve.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../simulator/broker.js';
import { axeViolations, launchChromium, screenshot } from './helpers/browser.js';
import { showQrToFakeCamera } from './helpers/fake-camera.js';
import { brokerWorld, closeStorage, makeAgent, removeTempDirs, startCollector, tempDir, type CollectorHarness, type KitAgent, type World } from './helpers/agent-kit.js';

/**
 * Pairing by scanning, in Debian's chromium with its fake camera fed a video the test draws from the device's real
 * pairing payload. This Chromium has no BarcodeDetector on Linux, so the page decodes frames itself (jsQR).
 */
let broker: EmbeddedBroker;
let world: World;
let server: WebServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let kit: KitAgent;
let col: CollectorHarness;
let video: string;
const deviceId = `scan-thermo-${process.pid}`;

beforeAll(async () => {
  broker = await startEmbeddedBroker({ tls: true, websocketPort: 0 });
  world = brokerWorld(broker.url, broker.caPem);
  col = await startCollector(world);
  kit = await makeAgent(world, { deviceId, recipientPublicKey: col.publicKey });
  await kit.agent.start();
  server = await serveWebApp({ port: 0 });
  video = `${tempDir('camera')}/camera.y4m`;
  showQrToFakeCamera(video, 'https://example.com/not-a-pairing-code');
  browser = await launchChromium(broker.caPem, ['--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${video}`]);
  // The owner allows the camera for this origin (as the browser's prompt would); other contexts are not allowed.
  context = await browser.newContext({ viewport: { width: 1280, height: 900 }, permissions: ['camera'] });
  page = await context.newPage();
  page.on('pageerror', (error) => console.error('page error:', error.message));
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await kit?.agent.stop();
  if (kit !== undefined) await closeStorage(kit.storage);
  await col?.close();
  await world?.close();
  await broker?.close();
  removeTempDirs();
});

const live = () => page.locator('#live').textContent();
const scanButton = () => page.getByRole('button', { name: 'Scan the QR code' });

describe('pairing by scanning the QR code in chromium', () => {
  it('reports a QR code that is not a pairing code, pairs nothing, and cancels with the paste path intact', async () => {
    await page.goto(`${server.url}#pair&broker=${encodeURIComponent(broker.wsUrl ?? '')}`);
    await page.getByRole('button', { name: 'Create my owner keys' }).click();
    expect(await page.evaluate(() => 'BarcodeDetector' in globalThis)).toBe(false);
    // The decoder is fetched only now, when the owner starts the camera.
    await Promise.all([page.waitForRequest((request) => request.url().endsWith('/qr-decoder.js')), scanButton().click()]);
    await expect.poll(live, { timeout: 15_000 }).toContain('That QR code is not a device pairing code');
    expect(await axeViolations(page)).toEqual([]);
    await screenshot(page, 'desktop-pair-scanning');
    expect(await page.getByLabel('Pairing code').inputValue()).toBe('');
    await page.getByRole('button', { name: 'Stop the camera' }).click();
    await expect.poll(live, { timeout: 10_000 }).toContain('Scanning cancelled: the camera is off. You can paste the code instead.');
    await expect.poll(() => page.locator('video').count(), { timeout: 10_000 }).toBe(0);
    expect(await page.getByText('Paired with').count()).toBe(0);
    expect(kit.agent.status().paired).toBe(false);
    expect(await page.getByLabel('Pairing code').isEditable()).toBe(true);
  });

  it('pairs a real agent from the code the camera sees, with no pasting', async () => {
    showQrToFakeCamera(video, kit.agent.openPairingWindow().payload);
    await scanButton().click();
    await page.getByText(`Paired with ${deviceId}`).waitFor({ timeout: 20_000 });
    expect(kit.agent.status().paired).toBe(true);
    await page.getByRole('heading', { name: 'Privacy label: Thermostat' }).waitFor();
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 10_000 }).toContain(`${deviceId} is online`);
  });

  it('says so when camera permission is refused, or when there is no camera, and pasting still works', async () => {
    // Refused: a context where the camera was never allowed; headless Chromium answers the prompt with a refusal.
    // No camera: Chromium's own NotFoundError (its fake device cannot be removed per context, so it is thrown here).
    const cases = [
      { context: await browser.newContext(), says: 'Camera permission was refused. To scan, allow the camera for this page in the browser\'s site settings; or paste the code.' },
      { context: await browser.newContext({ permissions: ['camera'] }), says: 'No camera was found. Paste the code instead.', noCamera: true },
    ];
    for (const { context: other, says, noCamera } of cases) {
      const tab = await other.newPage();
      if (noCamera === true) {
        await tab.addInitScript(() => {
          const page = globalThis as unknown as { navigator: { mediaDevices: { getUserMedia: () => Promise<never> } }; DOMException: new (message: string, name: string) => Error };
          page.navigator.mediaDevices.getUserMedia = () => Promise.reject(new page.DOMException('Requested device not found', 'NotFoundError'));
        });
      }
      await tab.goto(`${server.url}#pair`);
      await tab.getByRole('button', { name: 'Create my owner keys' }).click();
      await tab.getByRole('button', { name: 'Scan the QR code' }).click();
      await expect.poll(() => tab.locator('#live').textContent(), { timeout: 15_000 }).toBe(says);
      expect(await tab.locator('video').count()).toBe(0);
      await tab.getByLabel('Pairing code').fill('ta1:pasted');
      expect(await tab.getByLabel('Pairing code').inputValue()).toBe('ta1:pasted');
      expect(await tab.getByRole('button', { name: 'Scan the QR code' }).isEnabled()).toBe(true);
      await other.close();
    }
  });
});
