import { TrustError } from '../agent/errors.js';
import { serveWebApp } from './serve.js';

/** `trust-agent companion serve`: prints the address, then serves until SIGINT/SIGTERM. */
export async function serveAction(flags: Record<string, string>, io: { out: (text: string) => void }): Promise<number> {
  const port = flags['port'] === undefined ? 8787 : Number(flags['port']);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new TrustError('INVALID_ARGUMENT', '--port must be 0-65535');
  const broker = flags['broker'];
  if (broker !== undefined && !broker.startsWith('wss://')) throw new TrustError('INVALID_ARGUMENT', '--broker for the web app must be a wss:// address');
  const server = await serveWebApp({ port, ...(flags['host'] === undefined ? {} : { host: flags['host'] }) });
  const link = broker === undefined ? server.url : `${server.url}#pair&broker=${encodeURIComponent(broker)}`;
  io.out(`Companion web app: ${link}\nYour keys stay in the browser; this server only hands out the page. Ctrl-C stops it.\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  return 0;
}
