import { TrustError } from '../../errors.js';
import type { ClockPort } from '../../ports/clock.js';
import type { SchedulerPort, TimerHandle } from '../../ports/scheduler.js';

/**
 * Virtual time: one object that is both the clock and the scheduler, so a simulation can drive days of device
 * life in milliseconds and every run is repeatable. Timers are kept on the monotonic axis; `jumpWall` moves
 * only the wall clock (NTP corrections, a flat RTC battery), exactly the skew the agent must survive.
 */
export interface VirtualTime extends ClockPort, SchedulerPort {
  /**
   * Moves monotonic (and wall) time forward by `ms`, running every timer that falls due, in due order.
   * A callback that throws rejects the call; time then stands at that timer and later timers stay pending.
   */
  advance(ms: number): Promise<void>;
  /** Like `advance`, up to an absolute monotonic time; a target in the past only flushes. */
  advanceTo(monotonicMs: number): Promise<void>;
  /** Steps the wall clock by `deltaMs` (may be negative); monotonic time and timers are untouched. */
  jumpWall(deltaMs: number): void;
  /** Number of timers not yet fired nor cleared. */
  pendingTimers(): number;
  /** Monotonic time at which the next timer falls due, if any. */
  nextDueAt(): number | undefined;
}

export interface VirtualTimeOptions {
  /**
   * Called before the first timer and after every timer so promise chains started by a callback settle
   * before the next one fires. The default only drains microtasks; a host with real I/O in the loop
   * (files, sockets) should pass a macrotask flush such as `() => new Promise(r => setImmediate(r))`.
   */
  flush?: () => Promise<void>;
}

interface VirtualTimer {
  readonly id: number;
  readonly dueAt: number;
  readonly callback: () => void;
}

const MICROTASK_ROUNDS = 20;

async function drainMicrotasks(): Promise<void> {
  for (let i = 0; i < MICROTASK_ROUNDS; i++) await Promise.resolve();
}

export function createVirtualTime(startWallMs: number, options: VirtualTimeOptions = {}): VirtualTime {
  assertFinite(startWallMs, 'startWallMs');
  const flush = options.flush ?? drainMicrotasks;
  const timers = new Map<number, VirtualTimer>();
  let monotonic = 0;
  let wallOffset = startWallMs;
  let nextId = 1;
  let advancing = false;

  // Ties break by creation order (ids grow), like real timers with equal deadlines.
  const takeNextDue = (limit: number): VirtualTimer | undefined => {
    let best: VirtualTimer | undefined;
    for (const timer of timers.values()) {
      if (timer.dueAt > limit) continue;
      if (best === undefined || timer.dueAt < best.dueAt || (timer.dueAt === best.dueAt && timer.id < best.id)) {
        best = timer;
      }
    }
    if (best !== undefined) timers.delete(best.id);
    return best;
  };

  const advanceTo = async (target: number): Promise<void> => {
    assertFinite(target, 'monotonicMs');
    if (advancing) throw new TrustError('INVALID_ARGUMENT', 'virtual time is already advancing');
    advancing = true;
    try {
      await flush();
      for (let timer = takeNextDue(target); timer !== undefined; timer = takeNextDue(target)) {
        monotonic = Math.max(monotonic, timer.dueAt);
        timer.callback();
        await flush();
      }
      monotonic = Math.max(monotonic, target);
    } finally {
      advancing = false;
    }
  };

  return {
    now: () => wallOffset + monotonic,
    monotonic: () => monotonic,
    setTimeout(callback: () => void, delayMs: number): TimerHandle {
      const delay = Number.isFinite(delayMs) && delayMs > 0 ? delayMs : 0;
      const timer: VirtualTimer = { id: nextId++, dueAt: monotonic + delay, callback };
      timers.set(timer.id, timer);
      return timer.id;
    },
    clearTimeout(handle: TimerHandle): void {
      if (typeof handle === 'number') timers.delete(handle);
    },
    advance: (ms: number) => {
      assertFinite(ms, 'ms');
      return advanceTo(monotonic + Math.max(0, ms));
    },
    advanceTo,
    jumpWall(deltaMs: number): void {
      assertFinite(deltaMs, 'deltaMs');
      wallOffset += deltaMs;
    },
    pendingTimers: () => timers.size,
    nextDueAt(): number | undefined {
      let due: number | undefined;
      for (const timer of timers.values()) if (due === undefined || timer.dueAt < due) due = timer.dueAt;
      return due;
    },
  };
}

function assertFinite(value: number, name: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TrustError('INVALID_ARGUMENT', `${name} must be a finite number`);
  }
}
