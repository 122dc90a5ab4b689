/**
 * The MQTT session as the agent needs it. The agent never opens a listening socket: it only dials out.
 * Adapters reconnect by themselves (backoff with jitter) after the first `connect()` resolves, and keep the
 * session (clean session off) so QoS 1 messages for the device wait at the broker while it is away.
 */
export type QoS = 0 | 1;

export interface TransportMessage {
  topic: string;
  payload: Uint8Array;
  retain: boolean;
}

export interface PublishOptions {
  qos: QoS;
  retain?: boolean;
}

export interface TransportOptions {
  clientId: string;
  /** Last will: published by the broker when the device vanishes. */
  will?: { topic: string; payload: Uint8Array; qos: QoS; retain: boolean };
  cleanSession?: boolean;
  keepaliveSeconds?: number;
}

/** What the link actually protects, as the adapter knows it after connecting. */
export interface TransportSecurity {
  encrypted: boolean;
  peerVerified: boolean;
  /** Set when the owner of the device opted into an insecure link: the agent audits it at every connect. */
  insecureReason?: string;
}

export interface Transport {
  readonly connected: boolean;
  readonly security?: TransportSecurity;
  connect(): Promise<void>;
  /** Resolves on PUBACK for QoS 1; rejects with TrustError('TRANSPORT') when the link is down. */
  publish(topic: string, payload: Uint8Array, options: PublishOptions): Promise<void>;
  subscribe(filter: string, qos: QoS): Promise<void>;
  onMessage(handler: (message: TransportMessage) => void): void;
  onConnection(handler: (connected: boolean) => void): void;
  close(): Promise<void>;
}

/** Injected constructor (Moddable style): the agent decides client id and will, the host decides the wire. */
export type TransportFactory = (options: TransportOptions) => Transport;
