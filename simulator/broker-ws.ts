import type { Aedes } from 'aedes';
import { createServer as createHttpsServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { importOptional } from '../cli/optional.js';

export interface WebSocketListener {
  readonly port: number;
  /** Stops listening and cuts every WebSocket client, as a broker crash would. */
  close(): Promise<void>;
}

/**
 * MQTT over WebSockets over TLS (the browser's only way to MQTT), on the embedded broker's certificate. Any path
 * is accepted (mqtt.js dials `/mqtt` by default, others `/`). A plain HTTPS GET answers with a short page, so an
 * owner can open the address once to accept the self-signed certificate in a browser that does not trust it.
 */
export async function startWebSocketListener(aedes: Aedes, credentials: { key: string; cert: string }, port: number): Promise<WebSocketListener> {
  const { createWebSocketStream, WebSocketServer } = await importOptional(() => import('ws'), 'ws', 'the embedded broker\'s WebSocket listener');
  const sockets = new Set<Socket>();
  const server = createHttpsServer({ key: credentials.key, cert: credentials.cert }, certificatePage);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', () => undefined);
  const wss = new WebSocketServer({
    server,
    // Browsers offer 'mqtt' (MQTT 3.1.1 and 5); an empty offer is accepted too, as Mosquitto does.
    handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : protocols.size === 0 ? false : [...protocols][0] ?? false),
  });
  wss.on('connection', (socket) => {
    const stream = createWebSocketStream(socket);
    stream.on('error', () => stream.destroy());
    aedes.handle(stream as never);
  });
  wss.on('error', () => undefined);
  const bound = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
  return {
    port: bound,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const client of wss.clients) client.terminate();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await closed;
    },
  };
}

function certificatePage(_request: IncomingMessage, response: ServerResponse): void {
  response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  response.end('<!doctype html><html lang="en"><meta charset="utf-8"><title>Broker WebSocket listener</title>'
    + '<p>This is the MQTT-over-WebSocket listener of the simulator\'s broker. If your browser asked you to accept its'
    + ' certificate, it now trusts it for this session: go back to the companion app and connect.</p></html>');
}
