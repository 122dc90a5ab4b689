import { TrustError } from './errors.js';

/**
 * The MQTT topic layout, in one place. Everything of a device lives under `ta/v1/{deviceId}/`.
 * Device ids are restricted so that no id can inject a topic level or a wildcard.
 */
export const TOPIC_ROOT = 'ta/v1';
const DEVICE_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function assertDeviceId(deviceId: string): void {
  if (typeof deviceId !== 'string' || !DEVICE_ID.test(deviceId)) {
    throw new TrustError('INVALID_ARGUMENT', 'deviceId must be 1-64 characters of A-Z a-z 0-9 _ -');
  }
}

export const topics = {
  /** Sealed telemetry envelopes, QoS 1. */
  telemetry: (deviceId: string) => `${TOPIC_ROOT}/${deviceId}/telemetry`,
  /** Retained `online` / `offline` (the last will). */
  status: (deviceId: string) => `${TOPIC_ROOT}/${deviceId}/status`,
  /** Retained, signed privacy manifest. */
  manifest: (deviceId: string) => `${TOPIC_ROOT}/${deviceId}/manifest`,
  /** Retained, signed enforced state (preferences version, manifest hash, security state). */
  state: (deviceId: string) => `${TOPIC_ROOT}/${deviceId}/state`,
  /** Companion to device: signed change and data-rights requests. */
  commandRequest: (deviceId: string) => `${TOPIC_ROOT}/${deviceId}/cmd/req`,
  /** Device to companion: `accepted` or `rejected` reply for one client token. */
  commandReply: (deviceId: string, clientToken: string, outcome: 'accepted' | 'rejected') =>
    `${TOPIC_ROOT}/${deviceId}/cmd/res/${clientToken}/${outcome}`,
  /** Device to companion: one part of a result too large for one reply (see agent/owner/parts.ts). */
  commandPart: (deviceId: string, clientToken: string) => `${TOPIC_ROOT}/${deviceId}/cmd/res/${clientToken}/part`,
  commandReplyFilter: (deviceId: string, clientToken: string) => `${TOPIC_ROOT}/${deviceId}/cmd/res/${clientToken}/+`,
  /** Companion to device: pairing request sealed to the device key. */
  pairRequest: (deviceId: string) => `${TOPIC_ROOT}/${deviceId}/pair/req`,
  pairReply: (deviceId: string) => `${TOPIC_ROOT}/${deviceId}/pair/res`,
  /** Vendor to device, retained: the collector's next key, signed by the trust root (agent/crypto/rotation.ts). */
  recipientKey: (deviceId: string) => `${TOPIC_ROOT}/${deviceId}/keys/recipient`,
  /** Device to collector, retained: the device's new keys after a transfer, signed by its previous keys. */
  deviceKeys: (deviceId: string) => `${TOPIC_ROOT}/${deviceId}/keys/device`,
  /** Collector subscriptions. */
  allTelemetry: () => `${TOPIC_ROOT}/+/telemetry`,
  allDeviceKeys: () => `${TOPIC_ROOT}/+/keys/device`,
} as const;

/** Split `ta/v1/{deviceId}/{rest}`; undefined for anything else. */
export function parseDeviceTopic(topic: string): { deviceId: string; rest: string } | undefined {
  const parts = topic.split('/');
  if (parts.length < 4 || parts[0] !== 'ta' || parts[1] !== 'v1') return undefined;
  const deviceId = parts[2] ?? '';
  if (!DEVICE_ID.test(deviceId)) return undefined;
  return { deviceId, rest: parts.slice(3).join('/') };
}
