import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { TrustError } from '../agent/errors.js';

/** The app's files, nothing else: a fixed list, so no path from a request ever reaches the file system. */
const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  // The camera's QR reader, fetched by the page only when it scans without the browser's own reader.
  '/qr-decoder.js': { file: 'qr-decoder.js', type: 'text/javascript; charset=utf-8' },
  '/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

export interface WebServer {
  /** http://HOST:PORT/ */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** dist/web beside the bundled CLI, or (running from source) dist/web of the checkout. */
export function webRoot(): string {
  // Beside the CLI bundle, beside its chunk directory (dist/cli/), or in the checkout's dist/ (running from source).
  for (const candidate of ['./web/', '../dist/web/', '../web/']) {
    const path = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(`${path}app.js`)) return path;
  }
  throw new TrustError('INVALID_CONFIG', 'the web app is not built: run `node esbuild.config.mjs` first');
}

/**
 * Serves the companion web app (static files; no state, no API: the page talks to the broker itself). Loopback by
 * default: a browser treats http://127.0.0.1 as a secure context, which the app needs for Web Crypto and the camera.
 */
export async function serveWebApp(options: { port?: number; host?: string; root?: string } = {}): Promise<WebServer> {
  const root = options.root ?? webRoot();
  const host = options.host ?? '127.0.0.1';
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    const entry = FILES[path];
    if ((request.method !== 'GET' && request.method !== 'HEAD') || entry === undefined) {
      response.writeHead(request.method === 'GET' || request.method === 'HEAD' ? 404 : 405, { 'content-type': 'text/plain' });
      response.end('not found\n');
      return;
    }
    readFile(`${root}${entry.file}`).then((body) => {
      response.writeHead(200, {
        'content-type': entry.type, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer',
        'x-frame-options': 'DENY', 'permissions-policy': 'camera=(self), microphone=(), geolocation=()',
      });
      response.end(request.method === 'HEAD' ? undefined : body);
    }, () => {
      response.writeHead(500, { 'content-type': 'text/plain' });
      response.end('the web app is not built\n');
    });
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8787, host, () => {
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : options.port ?? 8787);
    });
  });
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/`, port,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
