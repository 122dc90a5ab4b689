import { TrustError } from '../../errors.js';
import type { PublishOptions, QoS, Transport, TransportMessage, TransportOptions, TransportSecurity } from '../../ports/transport.js';
import { assertTopic, assertTopicFilter, topicMatches } from './topic-filter.js';

export { topicMatches } from './topic-filter.js';

export type { TransportSecurity } from '../../ports/transport.js';

export interface InsecureConnectEvent {
  clientId: string;
  reason: string;
}

/** A transport with the extras the adapters provide beyond the port. */
export interface SecuredTransport extends Transport {
  readonly security: TransportSecurity;
}

export interface MemoryBrokerOptions {
  /** Pretend the link is plaintext: every connect then reports an insecure transport (for audit tests). */
  insecure?: boolean;
  onInsecureConnect?: (event: InsecureConnectEvent) => void;
  /** Per-client queue bound, as Mosquitto's max_queued_messages; overflow is counted in `stats`. */
  maxQueuedPerClient?: number;
}

export interface MemoryBrokerStats {
  published: number;
  delivered: number;
  droppedQueueFull: number;
  willsPublished: number;
}

/**
 * An in-process MQTT-like bus with the semantics the agent depends on: `+`/`#` wildcards, retained messages,
 * QoS 0/1, persistent sessions, last will, plus controls to break things on purpose.
 */
export interface MemoryBroker {
  /** The factory to hand to the agent as `ports.transport`. */
  readonly transport: (options: TransportOptions) => SecuredTransport;
  readonly stats: MemoryBrokerStats;
  /** Cuts a client off (`on`) or lets it back; the broker sees an abnormal loss and publishes the will. */
  partition(clientId: string, on: boolean): void;
  /** The client dies without DISCONNECT: the will goes out and this transport stays dead until `connect()`. */
  kill(clientId: string): void;
  /** The whole broker goes away (`on`) and comes back; persistent sessions and retained messages survive. */
  outage(on: boolean): void;
  retained(topic: string): Uint8Array | undefined;
  queuedFor(clientId: string): number;
  isConnected(clientId: string): boolean;
}

interface QueuedMessage extends TransportMessage {
  qos: QoS;
}

type LinkState = 'idle' | 'connected' | 'cut' | 'dead' | 'closed';

interface Session {
  persistent: boolean;
  subscriptions: Map<string, QoS>;
  queue: QueuedMessage[];
  link: MemoryLink | undefined;
  draining: boolean;
}

interface MemoryLink extends SecuredTransport {
  readonly clientId: string;
  state: LinkState;
  attach(): void;
  lose(withWill: boolean, next: LinkState): void;
  deliver(message: TransportMessage): void;
}

export function createMemoryBroker(options: MemoryBrokerOptions = {}): MemoryBroker {
  const maxQueued = options.maxQueuedPerClient ?? 100_000;
  const sessions = new Map<string, Session>();
  const retainedMessages = new Map<string, { payload: Uint8Array; qos: QoS }>();
  const partitioned = new Set<string>();
  const links = new Set<MemoryLink>();
  const stats: MemoryBrokerStats = { published: 0, delivered: 0, droppedQueueFull: 0, willsPublished: 0 };
  let down = false;

  const reachable = (clientId: string) => !down && !partitioned.has(clientId);

  const enqueue = (session: Session, message: QueuedMessage): void => {
    if (session.queue.length >= maxQueued) {
      stats.droppedQueueFull += 1;
      return;
    }
    session.queue.push(message);
    scheduleDrain(session);
  };

  // Delivery is asynchronous, as on a real broker: a handler that publishes never re-enters the publisher.
  const scheduleDrain = (session: Session): void => {
    if (session.draining || session.link?.state !== 'connected') return;
    session.draining = true;
    void Promise.resolve().then(() => {
      session.draining = false;
      while (session.link?.state === 'connected' && session.queue.length > 0) {
        const message = session.queue.shift() as QueuedMessage;
        stats.delivered += 1;
        session.link.deliver({ topic: message.topic, payload: message.payload.slice(), retain: message.retain });
      }
    });
  };

  const route = (topic: string, payload: Uint8Array, qos: QoS, retain: boolean): void => {
    stats.published += 1;
    if (retain) {
      if (payload.length === 0) retainedMessages.delete(topic);
      else retainedMessages.set(topic, { payload, qos });
    }
    for (const session of sessions.values()) {
      const granted = grantedQos(session.subscriptions, topic);
      if (granted === undefined) continue;
      const effective = Math.min(granted, qos) as QoS;
      const online = session.link?.state === 'connected';
      if (online || (session.persistent && effective === 1)) {
        enqueue(session, { topic, payload, qos: effective, retain: false });
      }
    }
  };

  const publishWill = (will: TransportOptions['will']): void => {
    if (will === undefined) return;
    stats.willsPublished += 1;
    route(will.topic, will.payload.slice(), will.qos, will.retain);
  };

  const detach = (link: MemoryLink): void => {
    const session = sessions.get(link.clientId);
    if (session === undefined || session.link !== link) return;
    session.link = undefined;
    // QoS 0 is fire-and-forget: what was not handed over before the link went is gone.
    session.queue = session.queue.filter((m) => m.qos === 1);
    if (!session.persistent) sessions.delete(link.clientId);
  };

  const openSession = (link: MemoryLink, clean: boolean, restore: Map<string, QoS>): Session => {
    const existing = sessions.get(link.clientId);
    if (existing?.link !== undefined && existing.link !== link) {
      // Session takeover, as MQTT prescribes: the older connection with the same client id is dropped.
      links.delete(existing.link);
      existing.link.lose(false, 'dead');
    }
    let session = sessions.get(link.clientId);
    if (session === undefined || clean) {
      session = { persistent: !clean, subscriptions: new Map(restore), queue: [], link: undefined, draining: false };
      sessions.set(link.clientId, session);
    }
    session.link = link;
    return session;
  };

  const subscribeSession = (session: Session, filter: string, qos: QoS): void => {
    session.subscriptions.set(filter, qos);
    for (const [topic, message] of retainedMessages) {
      if (!topicMatches(filter, topic)) continue;
      enqueue(session, { topic, payload: message.payload, qos: Math.min(qos, message.qos) as QoS, retain: true });
    }
  };

  const createLink = (transportOptions: TransportOptions): MemoryLink => {
    const clientId = transportOptions.clientId;
    const clean = transportOptions.cleanSession ?? false;
    const messageHandlers: Array<(message: TransportMessage) => void> = [];
    const connectionHandlers: Array<(connected: boolean) => void> = [];
    // The client's own record of its subscriptions, replayed after reconnecting into a clean session.
    const ownSubscriptions = new Map<string, QoS>();
    const security: TransportSecurity = options.insecure
      ? { encrypted: false, peerVerified: false, insecureReason: 'memory broker configured as plaintext' }
      : { encrypted: true, peerVerified: true };

    const emitConnection = (connected: boolean) => {
      for (const handler of connectionHandlers) handler(connected);
    };
    const requireConnected = (what: string) => {
      if (link.state !== 'connected') throw new TrustError('TRANSPORT', `cannot ${what}: not connected`);
    };

    const link: MemoryLink = {
      clientId,
      state: 'idle',
      security,
      get connected() {
        return link.state === 'connected';
      },
      attach() {
        const session = openSession(link, clean, ownSubscriptions);
        for (const [filter, qos] of ownSubscriptions) if (clean) subscribeSession(session, filter, qos);
        link.state = 'connected';
        if (options.insecure) options.onInsecureConnect?.({ clientId, reason: security.insecureReason ?? 'insecure' });
        emitConnection(true);
        scheduleDrain(session);
      },
      lose(withWill: boolean, next: LinkState) {
        if (link.state !== 'connected') {
          // A link that was not up cannot be cut; it can still be killed or closed.
          if (next !== 'cut') link.state = next;
          return;
        }
        link.state = next;
        detach(link);
        if (withWill) publishWill(transportOptions.will);
        emitConnection(false);
      },
      deliver(message: TransportMessage) {
        for (const handler of messageHandlers) handler(message);
      },
      async connect() {
        if (link.state === 'connected') return;
        if (!reachable(clientId)) throw new TrustError('TRANSPORT', 'broker unreachable');
        links.add(link);
        link.attach();
      },
      async publish(topic: string, payload: Uint8Array, publishOptions: PublishOptions) {
        assertTopic(topic);
        if (!(payload instanceof Uint8Array)) throw new TrustError('INVALID_ARGUMENT', 'payload must be a Uint8Array');
        requireConnected('publish');
        route(topic, payload.slice(), publishOptions.qos, publishOptions.retain ?? false);
      },
      async subscribe(filter: string, qos: QoS) {
        assertTopicFilter(filter);
        requireConnected('subscribe');
        ownSubscriptions.set(filter, qos);
        const session = sessions.get(clientId);
        if (session !== undefined) subscribeSession(session, filter, qos);
      },
      onMessage: (handler) => void messageHandlers.push(handler),
      onConnection: (handler) => void connectionHandlers.push(handler),
      async close() {
        links.delete(link);
        link.lose(false, 'closed');
      },
    };
    return link;
  };

  const linkOf = (clientId: string): MemoryLink | undefined => {
    for (const link of links) if (link.clientId === clientId && link.state !== 'dead') return link;
    return undefined;
  };

  const reconnectWaiting = (): void => {
    for (const link of links) if (link.state === 'cut' && reachable(link.clientId)) link.attach();
  };

  return {
    transport: (transportOptions) => createLink(transportOptions),
    stats,
    partition(clientId, on) {
      if (on) {
        partitioned.add(clientId);
        linkOf(clientId)?.lose(true, 'cut');
      } else {
        partitioned.delete(clientId);
        reconnectWaiting();
      }
    },
    kill(clientId) {
      const link = linkOf(clientId);
      if (link === undefined) return;
      links.delete(link);
      link.lose(true, 'dead');
    },
    outage(on) {
      down = on;
      if (on) for (const link of links) link.lose(false, 'cut');
      else reconnectWaiting();
    },
    retained: (topic) => retainedMessages.get(topic)?.payload.slice(),
    queuedFor: (clientId) => sessions.get(clientId)?.queue.length ?? 0,
    isConnected: (clientId) => linkOf(clientId)?.state === 'connected',
  };
}

function grantedQos(subscriptions: Map<string, QoS>, topic: string): QoS | undefined {
  let granted: QoS | undefined;
  for (const [filter, qos] of subscriptions) {
    if (topicMatches(filter, topic) && (granted === undefined || qos > granted)) granted = qos;
  }
  return granted;
}
