import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import { TrustError } from '../agent/errors.js';
import type { PublishOptions, QoS, Transport, TransportFactory, TransportMessage } from '../agent/ports/transport.js';

/**
 * MQTT over secure WebSockets from a browser (mqtt.js's browser build). Only wss:// is accepted: the page's TLS
 * trust (the browser's CA store) authenticates the broker, and the owner's requests are signed on top of it.
 * mqtt.js reconnects by itself; `onConnection` tells the app when the link is up or down, so it can show offline.
 */
export function browserMqttTransport(url: string): TransportFactory {
  if (!/^wss:\/\//i.test(url)) throw new TrustError('INSECURE_TRANSPORT', 'the broker address must start with wss:// (MQTT over secure WebSockets)');
  return (options) => createTransport(url, options.clientId, options.cleanSession ?? true);
}

function createTransport(url: string, clientId: string, clean: boolean): Transport {
  const messageHandlers: Array<(message: TransportMessage) => void> = [];
  const connectionHandlers: Array<(connected: boolean) => void> = [];
  const subscriptions = new Map<string, QoS>();
  let client: MqttClient | undefined;
  let up = false;

  const setUp = (next: boolean): void => {
    if (next === up) return;
    up = next;
    for (const handler of connectionHandlers) handler(next);
  };

  return {
    security: { encrypted: true, peerVerified: true },
    get connected() {
      return client?.connected === true;
    },
    connect() {
      return new Promise<void>((resolve, reject) => {
        const created = mqtt.connect(url, {
          clientId, clean, protocolVersion: 4, keepalive: 20, reconnectPeriod: 2_000, connectTimeout: 8_000,
          queueQoSZero: false, resubscribe: true,
          // Native timers: the default worker timers need a blob: worker, which the page's CSP (rightly) forbids,
          // and without them keepalive and reconnect silently stop.
          timerVariant: 'native',
        });
        client = created;
        let first = true;
        created.on('connect', () => {
          setUp(true);
          if (first) { first = false; resolve(); }
        });
        created.on('close', () => {
          setUp(false);
          if (first) { first = false; created.end(true); reject(new TrustError('TRANSPORT', `cannot reach the broker at ${url}`)); }
        });
        created.on('offline', () => setUp(false));
        created.on('error', () => undefined);
        created.on('message', (topic, payload, packet) => {
          const message: TransportMessage = { topic, payload: new Uint8Array(payload), retain: packet.retain };
          for (const handler of messageHandlers) handler(message);
        });
      });
    },
    publish(topic: string, payload: Uint8Array, options: PublishOptions) {
      const current = client;
      if (current?.connected !== true) return Promise.reject(new TrustError('TRANSPORT', 'not connected to the broker'));
      return new Promise<void>((resolve, reject) => {
        current.publish(topic, payload as never, { qos: options.qos, retain: options.retain ?? false }, (error) => {
          if (error) reject(new TrustError('TRANSPORT', 'publish failed', { cause: error }));
          else resolve();
        });
      });
    },
    subscribe(filter: string, qos: QoS) {
      const current = client;
      if (current?.connected !== true) return Promise.reject(new TrustError('TRANSPORT', 'not connected to the broker'));
      return new Promise<void>((resolve, reject) => {
        current.subscribe(filter, { qos }, (error) => {
          if (error) return reject(new TrustError('TRANSPORT', 'subscribe failed', { cause: error }));
          subscriptions.set(filter, qos);
          resolve();
        });
      });
    },
    onMessage: (handler) => void messageHandlers.push(handler),
    onConnection: (handler) => void connectionHandlers.push(handler),
    close() {
      const current = client;
      client = undefined;
      setUp(false);
      return new Promise<void>((resolve) => (current === undefined ? resolve() : current.end(false, {}, () => resolve())));
    },
  };
}
