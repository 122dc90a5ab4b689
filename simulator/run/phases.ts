/**
 * Wall time per phase of a run (timers, readings, network settling, snapshots, verdicts, report), so a slow run
 * says where its time went. Phases may nest (settling happens inside timers and events); each is timed on its own.
 */
export class Phases {
  private readonly ms = new Map<string, number>();
  private readonly counts = new Map<string, number>();

  add(name: string, ms: number): void {
    this.ms.set(name, (this.ms.get(name) ?? 0) + ms);
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
  }

  async time<T>(name: string, work: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await work();
    } finally {
      this.add(name, performance.now() - start);
    }
  }

  timeSync<T>(name: string, work: () => T): T {
    const start = performance.now();
    try {
      return work();
    } finally {
      this.add(name, performance.now() - start);
    }
  }

  /** Milliseconds per phase (rounded), plus `<phase>#` with how many times it ran. */
  totals(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, ms] of this.ms) {
      out[name] = Math.round(ms);
      out[`${name}#`] = this.counts.get(name) ?? 0;
    }
    return out;
  }
}
