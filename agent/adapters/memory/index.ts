/** Deterministic, in-process host adapters: tests and the simulator's virtual world. No Node built-ins. */
export { seededRandom, noEntropyRandom } from './random.js';
export { createVirtualTime } from './time.js';
export type { VirtualTime, VirtualTimeOptions } from './time.js';
export { createMemoryBroker, topicMatches } from './transport.js';
export type {
  InsecureConnectEvent,
  MemoryBroker,
  MemoryBrokerOptions,
  MemoryBrokerStats,
  SecuredTransport,
  TransportSecurity,
} from './transport.js';
export { consoleLogger, formatLine, isLogLevel, levelEnabled, memoryLogger } from './logger.js';
export type { LogEntry, LogLevel, MemoryLogger } from './logger.js';
export * from './storage.js';
export { memoryCounter } from './counter.js';
