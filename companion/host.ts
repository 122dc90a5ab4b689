import nacl from 'tweetnacl';
import { wireRandom } from '../agent/crypto/random.js';
import { TrustError } from '../agent/errors.js';
import type { ClockPort } from '../agent/ports/clock.js';
import type { SchedulerPort, TimerHandle } from '../agent/ports/scheduler.js';

/**
 * Defaults for apps: the companion runs in phones, browsers and Node, which all have timers and a wall clock.
 * Looked up on globalThis so the library still type-checks (and fails clearly) on engines without them.
 */
interface HostTimers {
  setTimeout?: (callback: () => void, ms: number) => TimerHandle;
  clearTimeout?: (handle: TimerHandle) => void;
  Date?: { now(): number };
  performance?: { now(): number };
}

const host = globalThis as unknown as HostTimers;

export function hostScheduler(): SchedulerPort {
  const set = host.setTimeout;
  const clear = host.clearTimeout;
  if (set === undefined || clear === undefined) throw new TrustError('INVALID_CONFIG', 'no host timers: pass a scheduler');
  return { setTimeout: (callback, delayMs) => set(callback, delayMs), clearTimeout: (handle) => clear(handle) };
}

export function hostClock(): ClockPort {
  const date = host.Date;
  if (date === undefined) throw new TrustError('INVALID_CONFIG', 'no host clock: pass a clock');
  const perf = host.performance;
  return { now: () => date.now(), monotonic: () => (perf === undefined ? date.now() : perf.now()) };
}

interface HostCrypto { crypto?: { getRandomValues?: (target: Uint8Array) => Uint8Array } }

/**
 * The neutral bundle strips tweetnacl's Node `crypto` probe, so in Node (and anywhere `self` is missing)
 * tweetnacl starts with no random source. Before making keys or nonces, wire the host's Web Crypto when nacl has
 * none; with no secure source at all this throws NO_ENTROPY instead of ever degrading.
 */
export function ensureRandom(): void {
  try {
    nacl.randomBytes(1);
    return;
  } catch {
    // no PRNG yet: fall through
  }
  const crypto = (globalThis as unknown as HostCrypto).crypto;
  const getRandomValues = crypto?.getRandomValues?.bind(crypto);
  if (getRandomValues === undefined) throw new TrustError('NO_ENTROPY', 'no secure random source: call useRandom(port) first');
  wireRandom({
    bytes: (length) => {
      const out = new Uint8Array(length);
      for (let offset = 0; offset < length; offset += 65_536) getRandomValues(out.subarray(offset, Math.min(length, offset + 65_536)));
      return out;
    },
  });
}
