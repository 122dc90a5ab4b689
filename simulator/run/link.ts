import { createConnection, createServer, isIP, type Server, type Socket } from 'node:net';

/**
 * A cuttable network link: a loopback TCP relay in front of the broker. TLS runs end to end through it (the relay
 * sees only ciphertext), so cutting it is exactly a lost network: sockets die without MQTT DISCONNECT (the broker
 * fires the last will) and reconnects are refused until the link is restored.
 */
export interface Link {
  /** The URL to connect to instead of the broker's (same scheme, the relay's loopback port). */
  readonly url: string;
  /** The broker's host name, for the TLS certificate check (undefined when it is an IP address). */
  readonly servername: string | undefined;
  readonly up: boolean;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function openLink(brokerUrl: string): Promise<Link> {
  const target = new URL(brokerUrl);
  const targetPort = Number(target.port || (target.protocol === 'mqtts:' ? 8883 : 1883));
  const targetHost = target.hostname;
  const sockets = new Set<Socket>();
  let up = true;

  const server: Server = createServer((client) => {
    if (!up) {
      client.destroy();
      return;
    }
    const upstream = createConnection({ host: targetHost, port: targetPort });
    const pair = [client, upstream];
    for (const s of pair) {
      sockets.add(s);
      s.setNoDelay(true);
      s.on('error', () => undefined);
      s.on('close', () => {
        sockets.delete(s);
        for (const other of pair) other.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : 0);
    });
  });
  const url = `${target.protocol}//127.0.0.1:${port}`;
  const cutAll = (): void => {
    for (const s of sockets) s.destroy();
    sockets.clear();
  };
  return {
    url,
    servername: isIP(targetHost.replace(/^\[|\]$/g, '')) === 0 ? targetHost : undefined,
    get up() {
      return up;
    },
    cut() {
      up = false;
      cutAll();
    },
    restore() {
      up = true;
    },
    close() {
      up = false;
      cutAll();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
