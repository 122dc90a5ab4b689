/**
 * A monotonic counter the attacker cannot roll back with the flash (docs/storage.md, "Rollback of flash"): a secure
 * element's counter, an RPMB write counter, or one the firmware keeps in a place the data flash does not hold.
 * Optional: without it, restoring an old copy of the store's files brings erased data back (see the docs).
 */
export interface MonotonicCounterPort {
  /** The current value (0 for a new counter). */
  read(): Promise<number>;
  /** Adds one and resolves with the new value once it is durable. It never goes back. */
  increment(): Promise<number>;
}
