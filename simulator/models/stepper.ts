import type { Reading } from './types.js';

/**
 * Runs a model on a fixed internal tick, whatever the caller's step sizes: the same seed gives the same readings
 * whether the run loop steps by a second or by a day. Readings produced before `fromMs` (a power-off gap) are dropped.
 */
export class FixedTickStepper {
  private nextTick: number;
  /** Readings a tick produced for after the current step's end (a tick may look up to one tick ahead). */
  private carry: Reading[] = [];

  constructor(
    startMs: number,
    private readonly tickMs: number,
    private readonly tick: (t: number, out: Reading[]) => void,
  ) {
    this.nextTick = startMs;
  }

  step(fromMs: number, toMs: number): Reading[] {
    const produced: Reading[] = this.carry;
    while (this.nextTick < toMs) {
      this.tick(this.nextTick, produced);
      this.nextTick += this.tickMs;
    }
    this.carry = produced.filter((r) => r.at >= toMs);
    const readings = produced.filter((r) => r.at >= fromMs && r.at < toMs);
    // Stable sort: readings of equal time keep the order the model produced them in.
    readings.sort((a, b) => a.at - b.at);
    return readings;
  }
}
