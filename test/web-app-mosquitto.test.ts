import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { serveWebApp, type WebServer } from '../companion/serve.js';
import { launchChromium } from './helpers/browser.js';
import { brokerWorld, closeStorage, makeAgent, removeTempDirs, startCollector, type CollectorHarness, type KitAgent, type World } from './helpers/agent-kit.js';
import { describeMosquitto, startMosquitto, type MosquittoBroker } from './helpers/mosquitto.js';

/**
 * The web app in Debian's chromium against Mosquitto's own WebSocket-over-TLS listener, configured as
 * docs/companion.md tells an operator to: the device dials MQTT/TLS, the owner's browser wss://, one broker.
 */
describeMosquitto('companion web app in chromium over Mosquitto wss://', () => {
  let broker: MosquittoBroker;
  let world: World;
  let server: WebServer;
  let browser: Browser;
  let page: Page;
  let kit: KitAgent;
  let col: CollectorHarness;
  const deviceId = `web-mosq-${process.pid}`;

  beforeAll(async () => {
    broker = await startMosquitto({ tls: true, websockets: true });
    world = brokerWorld(broker.url, broker.caPem);
    col = await startCollector(world);
    kit = await makeAgent(world, { deviceId, recipientPublicKey: col.publicKey });
    col.collector.addDevice(deviceId, kit.agent.publicKeys.box);
    await kit.agent.start();
    server = await serveWebApp({ port: 0 });
    browser = await launchChromium(broker.serverCertPem);
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await kit?.agent.stop();
    if (kit !== undefined) await closeStorage(kit.storage);
    await col?.close();
    await world?.close();
    await broker?.stop();
    removeTempDirs();
  });

  it('pairs, confirms the review and turns a category off: the device applies what the browser sent', async () => {
    const wsUrl = broker.wsUrl ?? '';
    await page.goto(`${server.url}#pair&broker=${encodeURIComponent(wsUrl)}`);
    await page.getByRole('button', { name: 'Create my owner keys' }).click();
    await page.getByLabel('Pairing code').fill(kit.agent.openPairingWindow().payload);
    await page.getByRole('button', { name: 'Pair', exact: true }).click();
    await page.getByText(`Paired with ${deviceId}`).waitFor();
    await expect.poll(() => page.locator('#status').textContent()).toContain(`${deviceId} is online`);
    await page.getByRole('button', { name: 'I have reviewed this label' }).click();
    await page.getByText('Review confirmed').waitFor();
    await page.getByRole('navigation').getByRole('link', { name: 'Choices', exact: true }).click();
    const card = page.getByRole('article', { name: /Climate/ });
    await card.getByRole('radio', { name: 'Off' }).check();
    await card.getByRole('button', { name: 'Apply to Climate' }).click();
    await page.getByText('Climate: applied by the device.').waitFor();
    expect(kit.agent.policy.preferences().categories['climate']?.setting).toBe('off');
    expect(await kit.agent.record('climate', { temperatureC: 21, humidityPct: 40 })).toEqual({ stored: 0, queued: 0 });
  });
});
