/** Messages between the fleet bench's main thread and its device workers (structured-clone safe). */

/** 'agent': every device is a real agent (the subject); 'plain': a bare mqtt.js publisher of unencrypted CBOR (the baseline). */
export type FleetMode = 'agent' | 'plain';

export interface WorkerInit {
  workerIndex: number;
  mode: FleetMode;
  brokerUrl: string;
  caPem: string;
  /** The collector's X25519 public key (agent mode). */
  collectorPublicKey: Uint8Array;
  batchDelayMs: number;
  maxBatch: number;
  /** Most TLS handshakes this worker runs at once. */
  connectConcurrency: number;
}

export type ToWorker =
  | { type: 'grow'; count: number }
  /** flushEach: call flush() right after each reading (publish now instead of waiting for the batch delay). */
  | { type: 'run'; flushEach: boolean }
  | { type: 'pause' }
  /** detail: also count connected devices and published envelopes (costly: one status() per device). */
  | { type: 'sample'; detail: boolean }
  | { type: 'close'; budgetMs: number };

export interface DeviceKey {
  deviceId: string;
  boxPublicKey: Uint8Array;
}

export interface WorkerSample {
  devices: number;
  /** Readings accepted by `record()` (agent) or handed to mqtt.js (plain). */
  sent: number;
  /** Readings whose record/publish failed. */
  failed: number;
  /** Sum of the temperatures sent, x2 to stay integral: the collector's sum must match. */
  checksum: number;
  /** Ticks where the 1/s schedule was already late by more than one tick. */
  lateTicks: number;
  /** Worst schedule lag since the previous sample, ms. */
  maxTickLagMs: number;
  heapUsed: number;
  /** Event-loop utilisation since the previous sample (0..1). */
  elu: number;
  connected: number;
  /** Envelopes published (agent) or messages acknowledged (plain) so far. */
  envelopes: number;
  /** Garbage-collection pause time so far, ms. */
  gcMs: number;
  /** record() calls not yet resolved. */
  inFlight: number;
  /** Warnings and errors the devices logged (connect failures, disconnects). */
  warnings: number;
  firstWarning?: string;
}

export type FromWorker =
  | { type: 'ready' }
  | { type: 'grown'; keys: DeviceKey[]; failures: number; firstError?: string }
  | { type: 'ran' }
  | { type: 'paused'; sample: WorkerSample }
  | { type: 'sample'; sample: WorkerSample }
  | { type: 'closed'; stopped: number; timedOut: boolean };
