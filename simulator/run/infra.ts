import { nodeMqttTransport, type NodeMqttTransport } from '../../agent/adapters/node/index.js';
import type { LoggerPort, TransportOptions } from '../../agent/ports/index.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../broker.js';
import { openLink, type Link } from './link.js';
import { Traffic, type CountedTransport } from './traffic.js';

/** The broker the run uses: the embedded Aedes (default) or any real broker given by URL and CA. */
export interface BrokerHandle {
  url: string;
  caPem: string;
  /** wss:// URL of the embedded broker's WebSocket listener (for a browser companion), when it is on. */
  wsUrl?: string;
  label: string;
  /** A broker crash and restart (embedded: drops every client; external: only when the caller provides it). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export interface BrokerChoice {
  url?: string;
  caPem?: string;
  /** For an external broker the run cannot restart by itself; tests pass their Mosquitto's restart here. */
  restart?: () => Promise<void>;
}

/** `websocket`: also open the embedded broker's WSS listener (runs others attach to); skipped if it cannot start. */
export async function openBroker(choice: BrokerChoice, options: { websocket?: boolean } = {}): Promise<BrokerHandle> {
  if (choice.url === undefined) {
    const broker: EmbeddedBroker = options.websocket === true
      ? await startEmbeddedBroker({ websocketPort: 0 }).catch(() => startEmbeddedBroker())
      : await startEmbeddedBroker();
    return {
      url: broker.url, caPem: broker.caPem, ...(broker.wsUrl === undefined ? {} : { wsUrl: broker.wsUrl }),
      label: 'embedded', restart: () => broker.restart(), close: () => broker.close(),
    };
  }
  return {
    url: choice.url, caPem: choice.caPem ?? '', label: choice.url,
    restart: choice.restart ?? (async () => undefined), close: async () => undefined,
  };
}

export const quietLogger: LoggerPort = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * Network plumbing: one cuttable link per device (partition, outage), one shared link for the vendor and owner
 * side (collector, raw subscriber, companions, attacker), every transport counted by `traffic`.
 */
export class Network {
  readonly traffic = new Traffic();
  private readonly deviceLinks = new Map<string, Link>();
  private infraLink: Link | undefined;

  constructor(readonly broker: BrokerHandle, private readonly logger: LoggerPort = quietLogger) {}

  async linkFor(deviceId: string | undefined): Promise<Link> {
    if (deviceId === undefined) return (this.infraLink ??= await openLink(this.broker.url));
    let link = this.deviceLinks.get(deviceId);
    if (link === undefined) this.deviceLinks.set(deviceId, (link = await openLink(this.broker.url)));
    return link;
  }

  /** A counted transport factory over the link of a device (or the shared one). */
  async factory(deviceId: string | undefined): Promise<(options: TransportOptions) => CountedTransport> {
    const link = await this.linkFor(deviceId);
    const make = nodeMqttTransport({
      url: link.url, ca: this.broker.caPem, logger: this.logger,
      ...(link.servername === undefined ? {} : { servername: link.servername }),
      reconnect: { initialDelayMs: 5, maxDelayMs: 50 }, connectTimeoutMs: 5_000, maxIncomingPayloadBytes: 1 << 20,
    }) as (options: TransportOptions) => NodeMqttTransport;
    return this.traffic.instrument(make);
  }

  cutDevice(deviceId: string): void {
    this.deviceLinks.get(deviceId)?.cut();
  }

  restoreDevice(deviceId: string, outage: boolean): void {
    if (!outage) this.deviceLinks.get(deviceId)?.restore();
  }

  cutAll(): void {
    this.infraLink?.cut();
    for (const link of this.deviceLinks.values()) link.cut();
  }

  /** End of an outage: every link comes back except those of partitioned devices. */
  restoreAll(partitioned: ReadonlySet<string>): void {
    this.infraLink?.restore();
    for (const [id, link] of this.deviceLinks) if (!partitioned.has(id)) link.restore();
  }

  async close(): Promise<void> {
    await Promise.all([...this.deviceLinks.values(), ...(this.infraLink ? [this.infraLink] : [])].map((l) => l.close()));
  }
}
