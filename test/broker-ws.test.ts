import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { get } from 'node:https';
import { nodeMqttTransport } from '../agent/adapters/node/index.js';
import { memoryLogger } from '../agent/adapters/memory/index.js';
import { serveWebApp, type WebServer } from '../companion/serve.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../simulator/broker.js';
import { until } from './helpers/agent-kit.js';

let broker: EmbeddedBroker;
beforeAll(async () => { broker = await startEmbeddedBroker({ tls: true, websocketPort: 0 }); });
afterAll(async () => { await broker.close(); });

function wssClient(url: string, ca: string, clientId: string) {
  return nodeMqttTransport({ url, ca, logger: memoryLogger(), reconnect: { initialDelayMs: 20, maxDelayMs: 100 }, connectTimeoutMs: 3_000 })({ clientId, cleanSession: true });
}

function httpsGet(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { ca }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => { body += chunk.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

describe('embedded broker: MQTT over WebSockets over TLS', () => {
  it('carries MQTT between a wss client and an mqtts client, verified against the broker CA', async () => {
    expect(broker.wsUrl).toMatch(/^wss:\/\/127\.0\.0\.1:\d+$/);
    const viaWs = wssClient(`${broker.wsUrl}/mqtt`, broker.caPem, 'ws-sub');
    const viaTls = wssClient(broker.url, broker.caPem, 'tls-pub');
    await viaWs.connect();
    await viaTls.connect();
    expect(viaWs.security).toMatchObject({ encrypted: true, peerVerified: true });
    const got: string[] = [];
    viaWs.onMessage((m) => got.push(new TextDecoder().decode(m.payload)));
    await viaWs.subscribe('ta/v1/ws-test/x', 1);
    await viaTls.publish('ta/v1/ws-test/x', new TextEncoder().encode('hello'), { qos: 1 });
    await until(() => got.length === 1, 'the message over wss');
    expect(got).toEqual(['hello']);
    await viaWs.close();
    await viaTls.close();
  });

  it('refuses a client that does not trust the certificate, and answers a plain HTTPS GET with a page', async () => {
    const other = await startEmbeddedBroker({ tls: true });
    await other.close();
    await expect(wssClient(broker.wsUrl ?? '', other.caPem, 'ws-wrong-ca').connect()).rejects.toMatchObject({ code: 'TRANSPORT' });
    const page = await httpsGet(`${(broker.wsUrl ?? '').replace(/^wss:/, 'https:')}/`, broker.caPem);
    expect(page.status).toBe(200);
    expect(page.body).toContain('WebSocket listener');
  });

  it('listens again on the same port after a broker restart', async () => {
    const url = broker.wsUrl ?? '';
    await broker.restart();
    const client = wssClient(url, broker.caPem, 'ws-after-restart');
    await client.connect();
    expect(client.connected).toBe(true);
    await client.close();
  });

  it('is refused without TLS', async () => {
    await expect(startEmbeddedBroker({ tls: false, websocketPort: 0 })).rejects.toThrow(/needs TLS/);
  });
});

describe('companion serve', () => {
  let server: WebServer;
  beforeAll(async () => { server = await serveWebApp({ port: 0 }); });
  afterAll(async () => { await server.close(); });

  it('serves the page, its script and style, with a CSP that allows only wss: connections', async () => {
    const page = await fetch(server.url);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<script type="module" src="app.js">');
    expect(html).toMatch(/connect-src 'self' wss:;/);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    for (const file of ['app.js', 'qr-decoder.js', 'app.css']) expect((await fetch(`${server.url}${file}`)).status).toBe(200);
  });

  it('serves nothing but its own files', async () => {
    for (const path of ['package.json', '..%2Fpackage.json', 'web/main.ts', '%2e%2e/%2e%2e/etc/passwd']) {
      expect((await fetch(`${server.url}${path}`)).status, path).toBe(404);
    }
    expect((await fetch(server.url, { method: 'POST' })).status).toBe(405);
  });
});
