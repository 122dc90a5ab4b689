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
