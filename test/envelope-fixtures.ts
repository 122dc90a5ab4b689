import { randomFillSync } from 'node:crypto';
import nacl from 'tweetnacl';
import type { EnvelopeReading } from '../agent/codec/envelope.js';
import { generateIdentity, toHex, type DeviceIdentity } from '../agent/crypto/keys.js';
import { wireRandom } from '../agent/crypto/random.js';
import { Sealer, newSessionId } from '../agent/telemetry/sealer.js';
import { createCollector, type Collector } from '../collector/index.js';

/** Shared set-up for the envelope and collector suites: real keys, real crypto, the OS random source. */
export function wireTestRandom(): void {
  wireRandom({ bytes: (length) => randomFillSync(new Uint8Array(length)) });
}

export interface TestDevice {
  deviceId: string;
  identity: DeviceIdentity;
  sealer: Sealer;
}

export function makeDevice(deviceId: string, recipientPublicKey: Uint8Array, sessionId = newSessionId(), version: 1 | 2 = 2): TestDevice {
  const identity = generateIdentity();
  return { deviceId, identity, sealer: new Sealer({ identity, deviceId, recipientPublicKey, sessionId, version }) };
}

export interface TestWorld {
  collector: Collector;
  collectorSecret: Uint8Array;
  clock: { now: number };
  delivered: Array<{ deviceId: string; reading: EnvelopeReading }>;
  device(deviceId: string, sessionId?: Uint8Array, version?: 1 | 2): TestDevice;
}

export const T0 = 1_767_225_600_000;
export const DAY = 86_400_000;

/** A collector with a settable clock that records every delivered reading; `device()` provisions a new device. */
export function makeWorld(): TestWorld {
  const collectorSecret = nacl.box.keyPair().secretKey;
  const clock = { now: T0 };
  const collector = createCollector({ secretKey: collectorSecret, now: () => clock.now });
  const delivered: TestWorld['delivered'] = [];
  collector.onReading((deviceId, reading) => delivered.push({ deviceId, reading }));
  return {
    collector,
    collectorSecret,
    clock,
    delivered,
    device(deviceId, sessionId, version) {
      const device = makeDevice(deviceId, collector.publicKey, sessionId, version);
      collector.addDevice(deviceId, device.identity.boxPublicKey);
      return device;
    },
  };
}

export function reading(session: Uint8Array | string, seq: number, data: Record<string, unknown> = { c: 21.5 }, at = T0 - 60_000): EnvelopeReading {
  return {
    id: { session: typeof session === 'string' ? session : toHex(session), seq },
    category: 'temperature',
    at,
    expiresAt: at + 7 * DAY,
    data,
  };
}

export function readings(device: TestDevice, firstSeq: number, count: number): EnvelopeReading[] {
  return Array.from({ length: count }, (_, i) => reading(device.sealer.sessionId, firstSeq + i, { c: 20 + i / 2 }));
}
