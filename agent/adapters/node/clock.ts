import { performance } from 'node:perf_hooks';
import type { ClockPort } from '../../ports/clock.js';

/** Wall time from the system clock; monotonic time from the high-resolution timer that never steps back. */
export function systemClock(): ClockPort {
  return {
    now: () => Date.now(),
    monotonic: () => performance.now(),
  };
}
