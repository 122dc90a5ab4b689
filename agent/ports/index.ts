import type { ClockPort } from './clock.js';
import type { CryptoPort } from './crypto.js';
import type { MonotonicCounterPort } from './counter.js';
import type { LoggerPort } from './logger.js';
import type { RandomPort } from './random.js';
import type { SchedulerPort } from './scheduler.js';
import type { StoragePort } from './storage.js';
import type { TransportFactory } from './transport.js';

export type { ClockPort } from './clock.js';
export type { CryptoPort } from './crypto.js';
export type { MonotonicCounterPort } from './counter.js';
export type { LogFields, LoggerPort } from './logger.js';
export type { RandomPort } from './random.js';
export type { SchedulerPort, TimerHandle } from './scheduler.js';
export type { StoragePort } from './storage.js';
export type { PublishOptions, QoS, Transport, TransportFactory, TransportMessage, TransportOptions, TransportSecurity } from './transport.js';

/** Everything the host gives the agent. Nothing else reaches the core. */
export interface Ports {
  random: RandomPort;
  clock: ClockPort;
  scheduler: SchedulerPort;
  storage: StoragePort;
  transport: TransportFactory;
  logger: LoggerPort;
  /** Optional rollback protection for the store's key file (docs/storage.md, "Rollback of flash"). */
  counter?: MonotonicCounterPort;
  /** Optional native Ed25519/X25519 (agent/adapters/node/crypto.ts on Node); tweetnacl when absent. Checked at start. */
  crypto?: CryptoPort;
}
