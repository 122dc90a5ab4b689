import type { Aedes } from 'aedes';
import { createServer as createNetServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { importOptional } from '../cli/optional.js';
import type { WebSocketListener } from './broker-ws.js';

export interface EmbeddedBrokerOptions {
  /** TLS on loopback with a certificate made at start (default); false gives plain TCP for downgrade tests. */
  tls?: boolean;
  /** 0 (default) picks a free port. */
  port?: number;
  /**
   * Also accept MQTT over secure WebSockets (for the companion web app in a browser), same certificate.
   * A port number (0 = any free port); off by default. Needs TLS.
   */
  websocketPort?: number;
}

export interface EmbeddedBroker {
  /** mqtts://127.0.0.1:PORT (or mqtt:// without TLS). */
  readonly url: string;
  /** The broker's self-signed certificate: configure it as the CA. Empty without TLS. */
  readonly caPem: string;
  readonly port: number;
  /** wss://127.0.0.1:PORT when the WebSocket listener is on. */
  readonly wsUrl: string | undefined;
  readonly aedes: Aedes;
  /** Broker outage: drops every client (abnormally, as a crash would) and listens again on the same port. */
  restart(options?: { downMs?: number }): Promise<void>;
  /** Stops listening and frees every socket, timer and the Aedes instance. */
  close(): Promise<void>;
}

/** An in-process Aedes broker on 127.0.0.1, for the main job and the tests. Sessions live in memory. */
export async function startEmbeddedBroker(options: EmbeddedBrokerOptions = {}): Promise<EmbeddedBroker> {
  const useTls = options.tls ?? true;
  // Optional peers: loaded here, not at the top, so the CLI and the package load without them.
  const { Aedes: AedesBroker } = await importOptional(() => import('aedes'), 'aedes', 'the embedded broker (trust-agent simulate)');
  const aedes = await AedesBroker.createBroker();
  const credentials = useTls ? await loopbackCertificate() : undefined;
  const sockets = new Set<Socket>();

  const makeServer = (): Server => {
    const server =
      credentials === undefined
        ? createNetServer((socket) => aedes.handle(socket))
        : createTlsServer({ key: credentials.key, cert: credentials.cert }, (socket) => aedes.handle(socket));
    // Raw sockets, tracked from accept (before the TLS handshake) so restart and close can cut all of them.
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    // A client that fails the handshake (wrong CA on its side) must not take the broker down.
    server.on('tlsClientError', () => undefined);
    return server;
  };

  let server = makeServer();
  const port = await listen(server, options.port ?? 0);
  if (options.websocketPort !== undefined && credentials === undefined) throw new Error('the WebSocket listener needs TLS');
  let ws: WebSocketListener | undefined;
  const startWs = async (wsPort: number): Promise<WebSocketListener | undefined> =>
    credentials === undefined || options.websocketPort === undefined ? undefined
      : (await import('./broker-ws.js')).startWebSocketListener(aedes, credentials, wsPort);
  ws = await startWs(options.websocketPort ?? 0);
  const wsPort = ws?.port;

  const stopListening = async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await closed;
  };

  return {
    url: `${useTls ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`,
    caPem: credentials?.cert ?? '',
    port,
    wsUrl: wsPort === undefined ? undefined : `wss://127.0.0.1:${wsPort}`,
    aedes,
    async restart(restartOptions = {}) {
      await stopListening();
      await ws?.close();
      if (restartOptions.downMs !== undefined) await new Promise((resolve) => setTimeout(resolve, restartOptions.downMs));
      server = makeServer();
      await listen(server, port);
      if (wsPort !== undefined) ws = await startWs(wsPort);
    },
    async close() {
      await stopListening();
      await ws?.close();
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
    },
  };
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
}

/** A P-256 self-signed certificate for 127.0.0.1 and localhost that serves as its own CA. */
async function loopbackCertificate(): Promise<{ key: string; cert: string }> {
  const { generate } = await importOptional(() => import('selfsigned'), 'selfsigned', 'the embedded broker certificate (trust-agent simulate)');
  const pems = await generate([{ name: 'commonName', value: 'iot-trust-agent embedded broker' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 7 * 24 * 3600 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}
