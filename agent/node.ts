/** The Node.js entry: the portable core plus the Node adapters (crypto, fs, mqtt.js, timers). */
export * from './index.js';
// On a gateway bundle size does not matter: the example registries come with the Node entry too.
export * from './registries.js';
export { nodePorts, nodeCrypto, nodeMqttTransport, nodeFileStorage, nodeRandom, nodeScheduler, nodeLogger, systemClock } from './adapters/node/index.js';
export type { NodePortsConfig, NodeMqttOptions } from './adapters/node/index.js';
export { pairingQrSvg, pairingQrText } from './adapters/node/pairing-qr.js';
