/** Node host adapters: OS entropy, node:crypto Ed25519/X25519, system clock, Node timers, files, mqtt.js over TLS, stderr logging. */
import type { LogLevel } from '../memory/logger.js';
import type { InsecureConnectEvent } from '../memory/transport.js';
import type { Ports } from '../../ports/index.js';
import { systemClock } from './clock.js';
import { nodeCrypto } from './crypto.js';
import { nodeLogger } from './logger.js';
import { nodeMqttTransport } from './mqtt.js';
import type { BrokerEndpoint, NodeMqttOptions } from './mqtt.js';
import { nodeRandom } from './random.js';
import { nodeScheduler } from './scheduler.js';
import { nodeFileStorage } from './storage.js';

export { systemClock } from './clock.js';
export { nodeCrypto } from './crypto.js';
export { nodeLogger } from './logger.js';
export type { NodeLoggerOptions } from './logger.js';
export { nodeMqttTransport } from './mqtt.js';
export type { BrokerEndpoint, NodeMqttOptions, NodeMqttTransport, NodeMqttTransportFactory } from './mqtt.js';
export { nodeRandom } from './random.js';
export { nodeScheduler } from './scheduler.js';
export { nodeFileCounter } from './counter.js';
export type { NodeSchedulerOptions } from './scheduler.js';
export * from './storage.js';

export interface NodePortsConfig {
  /** Directory the agent owns for keys, queue, store and audit log. */
  dataDir: string;
  broker: BrokerEndpoint & Pick<NodeMqttOptions, 'reconnect' | 'connectTimeoutMs' | 'maxIncomingPayloadBytes'>;
  logLevel?: LogLevel;
  logJson?: boolean;
  onInsecureConnect?: (event: InsecureConnectEvent) => void;
}

/** The composition of real host adapters for a device (or a simulated device) running on Node. */
export function nodePorts(config: NodePortsConfig): Ports {
  const logger = nodeLogger({ level: config.logLevel ?? 'info', ...(config.logJson !== undefined ? { json: config.logJson } : {}) });
  const transport = nodeMqttTransport({
    ...config.broker,
    logger,
    ...(config.onInsecureConnect !== undefined ? { onInsecureConnect: config.onInsecureConnect } : {}),
  });
  return {
    random: nodeRandom(),
    clock: systemClock(),
    scheduler: nodeScheduler(),
    storage: nodeFileStorage(config.dataDir),
    transport,
    logger,
    crypto: nodeCrypto(),
  };
}
