import mqtt from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';
import { TrustError } from '../../errors.js';
import type { LoggerPort } from '../../ports/logger.js';
import type { PublishOptions, QoS, TransportMessage, TransportOptions } from '../../ports/transport.js';
import { assertTopic, assertTopicFilter } from '../memory/topic-filter.js';
import type { InsecureConnectEvent, SecuredTransport } from '../memory/transport.js';
import { backoffDelay, checkEndpoint, describeConnectError } from './mqtt-config.js';
import type { BrokerEndpoint, CheckedEndpoint } from './mqtt-config.js';

export type { BrokerEndpoint } from './mqtt-config.js';

export interface NodeMqttOptions extends BrokerEndpoint {
  logger: LoggerPort;
  /** Called at every connect over an insecure link, so the agent can audit each downgrade. */
  onInsecureConnect?: (event: InsecureConnectEvent) => void;
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number };
  connectTimeoutMs?: number;
  /** Larger incoming payloads are dropped (acknowledged, counted, logged) before the agent sees them. */
  maxIncomingPayloadBytes?: number;
}

/** The Node transport, with a fault-injection hook and counters beyond the port. */
export interface NodeMqttTransport extends SecuredTransport {
  /** Destroys the socket without DISCONNECT, as a power cut or a dead radio would; reconnect follows. */
  dropLink(): void;
  readonly droppedOversized: number;
}

/** Assignable to the port's TransportFactory; keeps the extras visible to hosts and tests. */
export type NodeMqttTransportFactory = (options: TransportOptions) => NodeMqttTransport;

const DEFAULTS = { initialDelayMs: 1_000, maxDelayMs: 60_000, connectTimeoutMs: 10_000, maxIncoming: 256 * 1024 };

/**
 * MQTT over TLS with mqtt.js 5. Refuses plaintext unless allowed, verifies the broker against the configured
 * CA, keeps a persistent session, reconnects with jittered backoff, and never queues publishes while offline:
 * the agent's durable queue is the only place unsent data lives.
 */
export function nodeMqttTransport(options: NodeMqttOptions): NodeMqttTransportFactory {
  const endpoint = checkEndpoint(options);
  return (transportOptions: TransportOptions) => createTransport(options, endpoint, transportOptions);
}

interface Pending {
  reject(error: TrustError): void;
}

function createTransport(options: NodeMqttOptions, endpoint: CheckedEndpoint, transportOptions: TransportOptions): NodeMqttTransport {
  const { logger } = options;
  const clientId = transportOptions.clientId;
  const messageHandlers: Array<(message: TransportMessage) => void> = [];
  const connectionHandlers: Array<(connected: boolean) => void> = [];
  const subscriptions = new Map<string, QoS>();
  const pending = new Set<Pending>();
  const maxIncoming = options.maxIncomingPayloadBytes ?? DEFAULTS.maxIncoming;
  let client: MqttClient | undefined;
  let closing = false;
  let attempt = 0;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let droppedOversized = 0;

  const emitConnection = (connected: boolean) => {
    for (const handler of connectionHandlers) handler(connected);
  };

  // Unacknowledged publishes fail now, and mqtt.js must not resend them on reconnect: the agent retries
  // from its own durable queue, so a second copy here would only be an unbounded, volatile duplicate.
  const failInFlight = (owner: MqttClient, reason: string) => {
    for (const entry of pending) entry.reject(new TrustError('TRANSPORT', reason));
    pending.clear();
    const outgoing = (owner as unknown as { outgoing?: Record<string, { cmd?: string }> }).outgoing ?? {};
    for (const [id, entry] of Object.entries(outgoing)) {
      if (entry.cmd === 'publish') owner.removeOutgoingMessage(Number(id));
    }
  };

  const scheduleReconnect = () => {
    if (closing || reconnectTimer !== undefined || client === undefined) return;
    // Math.random is enough here: jitter only spreads a fleet's reconnects, it protects no secret.
    const delay = backoffDelay(attempt, options.reconnect?.initialDelayMs ?? DEFAULTS.initialDelayMs, options.reconnect?.maxDelayMs ?? DEFAULTS.maxDelayMs, Math.random);
    attempt += 1;
    logger.debug('mqtt reconnect scheduled', { clientId, delayMs: delay, attempt });
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      if (!closing) client?.reconnect();
    }, delay);
  };

  const onConnect = (sessionPresent: boolean) => {
    attempt = 0;
    const security = endpoint.security;
    if (security.insecureReason !== undefined) {
      logger.warn('insecure MQTT transport in use', { clientId, url: endpoint.displayUrl, reason: security.insecureReason });
      options.onInsecureConnect?.({ clientId, reason: security.insecureReason });
    }
    logger.info('mqtt connected', { clientId, url: endpoint.displayUrl, sessionPresent });
    // Without a stored session the broker forgot our subscriptions; restore them before anything else.
    if (!sessionPresent && client !== undefined && subscriptions.size > 0) {
      const wanted = Object.fromEntries([...subscriptions].map(([filter, qos]) => [filter, { qos }]));
      client.subscribe(wanted, (error) => {
        if (error) logger.warn('mqtt resubscribe failed', { clientId, reason: describeConnectError(error) });
      });
    }
    emitConnection(true);
  };

  const onIncoming = (topic: string, payload: Buffer, retain: boolean) => {
    if (payload.length > maxIncoming) {
      droppedOversized += 1;
      logger.warn('mqtt message over size limit dropped', { clientId, bytes: payload.length, limit: maxIncoming });
      return;
    }
    const message: TransportMessage = { topic, payload: new Uint8Array(payload), retain };
    for (const handler of messageHandlers) {
      try {
        handler(message);
      } catch (error) {
        logger.error('message handler failed', { clientId, error: error instanceof Error ? error.name : 'unknown' });
      }
    }
  };

  const buildClient = (): MqttClient => {
    const will = transportOptions.will;
    const mqttOptions: IClientOptions = {
      clientId,
      protocolVersion: 4,
      clean: transportOptions.cleanSession ?? false,
      keepalive: transportOptions.keepaliveSeconds ?? 30,
      reconnectPeriod: 0,
      connectTimeout: options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
      queueQoSZero: false,
      resubscribe: false,
      rejectUnauthorized: options.rejectUnauthorized !== false,
      ...(options.ca !== undefined ? { ca: typeof options.ca === 'string' ? options.ca : Buffer.from(options.ca) } : {}),
      ...(options.servername !== undefined ? { servername: options.servername, wsOptions: { servername: options.servername } as NonNullable<IClientOptions['wsOptions']> } : {}),
      ...(will !== undefined ? { will: { topic: will.topic, payload: Buffer.from(will.payload), qos: will.qos, retain: will.retain } } : {}),
    };
    const created = mqtt.connect(endpoint.url, mqttOptions);
    let wasConnected = false;
    // Events of a client this transport has already replaced must not touch the current one.
    created.on('connect', (connack) => {
      if (client !== created) return;
      wasConnected = true;
      onConnect(connack.sessionPresent);
    });
    created.on('close', () => {
      if (client !== created) return;
      failInFlight(created, 'link lost before the broker acknowledged');
      if (wasConnected) {
        wasConnected = false;
        logger.info('mqtt disconnected', { clientId });
        emitConnection(false);
      }
      scheduleReconnect();
    });
    created.on('message', (topic, payload, packet) => {
      if (client === created) onIncoming(topic, payload, packet.retain);
    });
    created.on('error', (error) => logger.debug('mqtt error', { clientId, reason: describeConnectError(error) }));
    return created;
  };

  const firstConnect = (created: MqttClient): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const settle = (error?: unknown) => {
        created.off('connect', onOk);
        created.off('error', onFail);
        created.off('close', onFail);
        if (error === undefined) resolve();
        else reject(new TrustError('TRANSPORT', describeConnectError(error), { cause: error }));
      };
      const onOk = () => settle();
      const onFail = (error?: unknown) => settle(error ?? new Error('closed before CONNACK'));
      created.on('connect', onOk);
      created.on('error', onFail);
      created.on('close', onFail);
    });

  const transport: NodeMqttTransport = {
    security: endpoint.security,
    get connected() {
      return client?.connected === true;
    },
    get droppedOversized() {
      return droppedOversized;
    },
    async connect() {
      if (client?.connected === true) return;
      if (client !== undefined) await shutdown(true);
      closing = false;
      const created = buildClient();
      client = created;
      try {
        await firstConnect(created);
      } catch (error) {
        await shutdown(true);
        logger.warn('mqtt connect failed', { clientId, url: endpoint.displayUrl, reason: (error as Error).message });
        throw error;
      }
    },
    async publish(topic: string, payload: Uint8Array, publishOptions: PublishOptions) {
      assertTopic(topic);
      if (!(payload instanceof Uint8Array)) throw new TrustError('INVALID_ARGUMENT', 'payload must be a Uint8Array');
      const current = client;
      if (current?.connected !== true) throw new TrustError('TRANSPORT', 'cannot publish: not connected');
      return new Promise<void>((resolve, reject) => {
        const entry: Pending = { reject };
        pending.add(entry);
        current.publish(topic, Buffer.from(payload), { qos: publishOptions.qos, retain: publishOptions.retain ?? false }, (error) => {
          if (!pending.delete(entry)) return;
          if (error) reject(new TrustError('TRANSPORT', 'publish failed', { cause: error }));
          else resolve();
        });
      });
    },
    async subscribe(filter: string, qos: QoS) {
      assertTopicFilter(filter);
      const current = client;
      if (current?.connected !== true) throw new TrustError('TRANSPORT', 'cannot subscribe: not connected');
      return new Promise<void>((resolve, reject) => {
        current.subscribe(filter, { qos }, (error, granted) => {
          if (error) return reject(new TrustError('TRANSPORT', 'subscribe failed', { cause: error }));
          if (granted?.some((g) => g.qos === 128)) return reject(new TrustError('TRANSPORT', 'broker refused the subscription'));
          subscriptions.set(filter, qos);
          resolve();
        });
      });
    },
    onMessage: (handler) => void messageHandlers.push(handler),
    onConnection: (handler) => void connectionHandlers.push(handler),
    dropLink() {
      (client as unknown as { stream?: { destroy(): void } } | undefined)?.stream?.destroy();
    },
    close: () => shutdown(false),
  };

  // `force` skips DISCONNECT (used after a failed connect, where there is nothing to be polite to).
  async function shutdown(force: boolean): Promise<void> {
    closing = true;
    if (reconnectTimer !== undefined) clearTimeout(reconnectTimer);
    reconnectTimer = undefined;
    const current = client;
    if (current === undefined) return;
    failInFlight(current, 'transport closed');
    const polite = !force && current.connected;
    await endWithin(current, polite, 2_000);
    if (client === current) client = undefined;
  }

  return transport;
}

/** A clean DISCONNECT (no will) when the link is up; a hard stop when it is not or takes too long. */
async function endWithin(client: MqttClient, polite: boolean, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const outcome = await Promise.race([client.endAsync(!polite).then(() => 'ended' as const, () => 'ended' as const), timeout]);
  clearTimeout(timer);
  if (outcome === 'timeout') await client.endAsync(true).catch(() => undefined);
}
