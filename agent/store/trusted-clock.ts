import type { ClockPort } from '../ports/clock.js';

/**
 * The time retention is judged by. Rule (docs/storage.md, "Clock rule"):
 * - An anchor pairs a wall time with the monotonic time it was read at. The projection is
 *   `anchorWall + (monotonic - anchorMonotonic)`: how late it must be, judging by elapsed time alone.
 * - A wall reading within `toleranceMs + driftRatio * elapsed` of the projection is believed and becomes the
 *   new anchor. A reading outside that band (the clock was set back, or jumped forward) is ignored and the
 *   projection is used instead: setting the clock back cannot stop time for retention, and setting it
 *   forward cannot expire data faster than time really passes.
 * - Trusted time never goes below the persisted high-water mark, so a reboot into an earlier clock cannot
 *   resurrect retention either. Across a reboot there is no monotonic continuity: a wall time at or above the
 *   high-water mark is accepted as the new anchor (the device really may have been off for a week).
 * - `trust(wallMs)` re-anchors on an authenticated time (e.g. a signed owner command) and is the only way
 *   to accept a forward jump without a reboot.
 */
export interface TrustedClockOptions {
  toleranceMs?: number;
  /** Allowed drift between wall and monotonic time, as a fraction (1e-3 = 1000 ppm). */
  driftRatio?: number;
}

export class TrustedClock {
  private anchorWall: number;
  private anchorMonotonic: number;
  private highWater: number;
  private readonly toleranceMs: number;
  private readonly driftRatio: number;
  /** Readings ignored because the wall clock disagreed with elapsed monotonic time. */
  rejectedReadings = 0;

  constructor(
    private readonly clock: ClockPort,
    persistedHighWater: number | undefined,
    options: TrustedClockOptions = {},
  ) {
    this.toleranceMs = options.toleranceMs ?? 2_000;
    this.driftRatio = options.driftRatio ?? 1e-3;
    this.highWater = persistedHighWater ?? Number.NEGATIVE_INFINITY;
    this.anchorWall = Math.max(clock.now(), this.highWater);
    this.anchorMonotonic = clock.monotonic();
    this.highWater = this.anchorWall;
  }

  now(): number {
    const wall = this.clock.now();
    const monotonic = this.clock.monotonic();
    const elapsed = Math.max(0, monotonic - this.anchorMonotonic);
    const projected = this.anchorWall + elapsed;
    const band = this.toleranceMs + elapsed * this.driftRatio;
    let trusted: number;
    if (Math.abs(wall - projected) <= band) {
      trusted = wall;
      this.anchorWall = Math.max(wall, this.highWater);
      this.anchorMonotonic = monotonic;
    } else {
      trusted = projected;
      this.rejectedReadings++;
    }
    this.highWater = Math.max(this.highWater, trusted);
    return this.highWater;
  }

  /** Accept an authenticated wall time; it can move time forward, never back below the high-water mark. */
  trust(wallMs: number): void {
    if (!Number.isFinite(wallMs)) return;
    this.anchorWall = Math.max(wallMs, this.highWater);
    this.anchorMonotonic = this.clock.monotonic();
    this.highWater = this.anchorWall;
  }

  get highWaterMark(): number {
    return this.highWater;
  }
}
