import type { MonotonicCounterPort } from '../../ports/counter.js';

/** A counter in memory, for tests and simulations: survives a store reopen in the same process, not a restart. */
export function memoryCounter(start = 0): MonotonicCounterPort & { value(): number } {
  let value = start;
  return {
    read: async () => value,
    increment: async () => ++value,
    value: () => value,
  };
}
