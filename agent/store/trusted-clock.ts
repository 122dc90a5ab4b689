import type { ClockPort } from '../ports/clock.js';

/**
 * The time retention is judged by. Rule (docs/storage.md, "Clock rule" and "Clock faults"):
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
 * Faults are reported (once per episode) and always resolved toward deletion, never toward keeping:
 * - the monotonic clock went back (a 32-bit millisecond counter wrapping, a driver reset): continuity is lost, so
 *   it is handled like a reboot: the wall time is accepted if it is not below the high-water mark;
 * - the monotonic clock stalled (the wall advanced at least `stallAfterMs` while the monotonic clock advanced less
 *   than half as much): the wall time is accepted, since a frozen projection would keep records forever;
 * - the wall clock is behind the projection (set back, or the monotonic clock jumped forward; the two look the
 *   same): the projection is used, which is the later time;
 * - the wall clock is ahead (set forward): the projection is used, which protects data within retention; a
 *   steadily growing gap is the stall above.
 */
export interface TrustedClockOptions {
  toleranceMs?: number;
  /** Allowed drift between wall and monotonic time, as a fraction (1e-3 = 1000 ppm). */
  driftRatio?: number;
  /** Wall advance without a matching monotonic advance after which the monotonic clock counts as stalled. */
  stallAfterMs?: number;
}

export type ClockFaultKind = 'monotonic-back' | 'monotonic-stalled' | 'wall-behind' | 'wall-ahead' | 'wall-behind-at-boot';

export interface ClockFault {
  kind: ClockFaultKind;
  /** Size of the disagreement, ms (absolute). */
  deltaMs: number;
}

type Episode = 'ok' | 'wall-behind' | 'wall-ahead';

export class TrustedClock {
  private anchorWall: number;
  private anchorMonotonic: number;
  private highWater: number;
  private lastMonotonic: number;
  private episode: Episode = 'ok';
  /** Wall and monotonic readings when the current wall-ahead episode began (stall detection). */
  private aheadSince: { wall: number; monotonic: number } | undefined;
  private readonly toleranceMs: number;
  private readonly driftRatio: number;
  private readonly stallAfterMs: number;
  /** Readings ignored because the wall clock disagreed with elapsed monotonic time. */
  rejectedReadings = 0;
  /** Every fault seen, by kind. */
  readonly faults: Partial<Record<ClockFaultKind, number>> = {};

  constructor(
    private readonly clock: ClockPort,
    persistedHighWater: number | undefined,
    options: TrustedClockOptions = {},
    private readonly onFault: (fault: ClockFault) => void = () => undefined,
  ) {
    this.toleranceMs = options.toleranceMs ?? 2_000;
    this.driftRatio = options.driftRatio ?? 1e-3;
    this.stallAfterMs = options.stallAfterMs ?? 60_000;
    this.highWater = persistedHighWater ?? Number.NEGATIVE_INFINITY;
    const wall = clock.now();
    this.anchorWall = Math.max(wall, this.highWater);
    this.anchorMonotonic = clock.monotonic();
    this.lastMonotonic = this.anchorMonotonic;
    this.highWater = this.anchorWall;
    // A wall clock far behind the persisted mark at boot: a flat RTC battery or a deliberate set-back. Handled (the
    // mark wins) and said out loud, since every reading stamped by that wall clock would look old.
    if (persistedHighWater !== undefined && wall < persistedHighWater - this.toleranceMs) {
      this.report({ kind: 'wall-behind-at-boot', deltaMs: persistedHighWater - wall });
      this.episode = 'wall-behind'; // the same disagreement, already reported
    }
  }

  now(): number {
    const wall = this.clock.now();
    const monotonic = this.clock.monotonic();
    if (monotonic < this.lastMonotonic) return this.monotonicWentBack(wall, monotonic);
    this.lastMonotonic = monotonic;
    const elapsed = monotonic - this.anchorMonotonic;
    const projected = this.anchorWall + elapsed;
    const band = this.toleranceMs + elapsed * this.driftRatio;
    if (Math.abs(wall - projected) <= band) {
      this.accept(wall, monotonic);
      this.episode = 'ok';
      this.aheadSince = undefined;
    } else if (wall < projected) {
      this.rejected('wall-behind', projected - wall);
      this.raise(projected);
    } else if (this.stalled(wall, monotonic)) {
      this.report({ kind: 'monotonic-stalled', deltaMs: wall - projected });
      this.accept(wall, monotonic);
      this.episode = 'ok';
      this.aheadSince = undefined;
    } else {
      this.rejected('wall-ahead', wall - projected);
      this.raise(projected);
    }
    return this.highWater;
  }

  /** Accept an authenticated wall time; it can move time forward, never back below the high-water mark. */
  trust(wallMs: number): void {
    if (!Number.isFinite(wallMs)) return;
    this.anchorWall = Math.max(wallMs, this.highWater);
    this.anchorMonotonic = this.clock.monotonic();
    this.lastMonotonic = this.anchorMonotonic;
    this.highWater = this.anchorWall;
    this.episode = 'ok';
    this.aheadSince = undefined;
  }

  get highWaterMark(): number {
    return this.highWater;
  }

  /** No continuity left: like a reboot, the wall time is believed unless it is below what was already trusted. */
  private monotonicWentBack(wall: number, monotonic: number): number {
    this.report({ kind: 'monotonic-back', deltaMs: this.lastMonotonic - monotonic });
    this.anchorWall = Math.max(wall, this.highWater);
    this.anchorMonotonic = monotonic;
    this.lastMonotonic = monotonic;
    this.highWater = this.anchorWall;
    this.episode = 'ok';
    this.aheadSince = undefined;
    return this.highWater;
  }

  private accept(wall: number, monotonic: number): void {
    this.anchorWall = Math.max(wall, this.highWater);
    this.anchorMonotonic = monotonic;
    this.raise(wall);
  }

  private raise(trusted: number): void {
    this.highWater = Math.max(this.highWater, trusted);
  }

  private rejected(episode: Exclude<Episode, 'ok'>, deltaMs: number): void {
    this.rejectedReadings++;
    if (this.episode === episode) return;
    this.episode = episode;
    this.report({ kind: episode, deltaMs });
  }

  /** Wall ahead: a constant gap is a forward jump (refused); a gap that keeps growing is a monotonic clock that stopped. */
  private stalled(wall: number, monotonic: number): boolean {
    if (this.aheadSince === undefined) {
      this.aheadSince = { wall, monotonic };
      return false;
    }
    const wallAdvance = wall - this.aheadSince.wall;
    return wallAdvance >= this.stallAfterMs && monotonic - this.aheadSince.monotonic < wallAdvance / 2;
  }

  private report(fault: ClockFault): void {
    this.faults[fault.kind] = (this.faults[fault.kind] ?? 0) + 1;
    try {
      this.onFault(fault);
    } catch {
      // A failing listener must not stop the clock.
    }
  }
}
