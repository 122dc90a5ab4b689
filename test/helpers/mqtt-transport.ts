import mqtt from 'mqtt';
import { TrustError } from '../../agent/errors.js';
import type { Transport, TransportMessage, TransportOptions } from '../../agent/ports/transport.js';

/**
 * A minimal, real mqtt.js Transport for tests over plain TCP on loopback (the Node adapter in
 * agent/adapters/node/mqtt.ts is the product one). Multiple handlers, persistent sessions, QoS 1.
 */
export interface TestTransport extends Transport {
  /** Goes offline cleanly (the broker keeps the persistent session and queues QoS 1 messages). */
  pause(): Promise<void>;
  /** Comes back with the same client id: queued messages are delivered. */
  resume(): Promise<void>;
}

export function testMqttTransport(url: string): (options: TransportOptions) => TestTransport {
  return (options: TransportOptions): TestTransport => {
    const messageHandlers: Array<(message: TransportMessage) => void> = [];
    const connectionHandlers: Array<(connected: boolean) => void> = [];
    let client: mqtt.MqttClient | undefined;
    const transport: TestTransport = {
      get connected() {
        return client?.connected === true;
      },
      connect: () => new Promise<void>((resolve, reject) => {
        const will = options.will === undefined ? undefined
          : { topic: options.will.topic, payload: Buffer.from(options.will.payload), qos: options.will.qos, retain: options.will.retain };
        client = mqtt.connect(url, {
          clientId: options.clientId, clean: options.cleanSession ?? false, reconnectPeriod: 200, keepalive: options.keepaliveSeconds ?? 30,
          ...(will === undefined ? {} : { will }),
        });
        client.once('connect', () => resolve());
        client.once('error', (error) => reject(new TrustError('TRANSPORT', 'connect failed', { cause: error })));
        client.on('connect', () => connectionHandlers.forEach((h) => h(true)));
        client.on('close', () => connectionHandlers.forEach((h) => h(false)));
        client.on('message', (topic, payload, packet) => {
          const message = { topic, payload: new Uint8Array(payload), retain: packet.retain };
          for (const handler of messageHandlers) handler(message);
        });
      }),
      publish: async (topic, payload, publishOptions) => {
        if (client === undefined) throw new TrustError('TRANSPORT', 'not connected');
        await client.publishAsync(topic, Buffer.from(payload), { qos: publishOptions.qos, retain: publishOptions.retain ?? false });
      },
      subscribe: async (filter, qos) => {
        if (client === undefined) throw new TrustError('TRANSPORT', 'not connected');
        await client.subscribeAsync(filter, { qos });
      },
      onMessage: (handler) => void messageHandlers.push(handler),
      onConnection: (handler) => void connectionHandlers.push(handler),
      pause: async () => {
        await client?.endAsync();
      },
      resume: () => new Promise<void>((resolve) => {
        client?.once('connect', () => resolve());
        client?.reconnect();
      }),
      close: async () => {
        await client?.endAsync(true);
      },
    };
    return transport;
  };
}
