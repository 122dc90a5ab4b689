/**
 * How often a refused request is written to the audit trail. The trail is bounded (it trims its oldest entries), so a
 * source that keeps failing must not be able to push the owner's consent history out of it: while a source is in
 * backoff, its rejections are counted and written at most once per `quietMs`, the entry carrying how many it stands
 * for. Outside a backoff every rejection gets its own entry. The exact totals stay in the channel's counters.
 */
export interface RejectionAuditDecision {
  write: boolean;
  /** Rejections this entry stands for (itself included), when it is written. */
  count: number;
}

interface SourceTally {
  lastWrittenAt: number;
  unwritten: number;
}

export const DEFAULT_REJECTION_AUDIT_QUIET_MS = 3_600_000;

export class RejectionAuditGate {
  private readonly tallies = new Map<string, SourceTally>();

  constructor(private readonly quietMs: number = DEFAULT_REJECTION_AUDIT_QUIET_MS, private readonly maxSources = 16) {}

  /** `inBackoff`: the source has used up its free failures (a sustained attack, not a typo). Monotonic time. */
  note(source: string, inBackoff: boolean, nowMonotonic: number): RejectionAuditDecision {
    const tally = this.tallies.get(source) ?? { lastWrittenAt: Number.NEGATIVE_INFINITY, unwritten: 0 };
    tally.unwritten += 1;
    this.remember(source, tally);
    // A monotonic clock that stepped back (docs/storage.md) must not silence the trail: any backwards step writes.
    const quiet = nowMonotonic >= tally.lastWrittenAt && nowMonotonic - tally.lastWrittenAt < this.quietMs;
    if (inBackoff && quiet) return { write: false, count: 0 };
    const count = tally.unwritten;
    tally.unwritten = 0;
    tally.lastWrittenAt = nowMonotonic;
    return { write: true, count };
  }

  /** An entry that could not be written: its rejections are carried into the next one. */
  unwrite(source: string, count: number): void {
    const tally = this.tallies.get(source);
    if (tally === undefined) return;
    tally.unwritten += count;
    tally.lastWrittenAt = Number.NEGATIVE_INFINITY;
  }

  reset(): void {
    this.tallies.clear();
  }

  private remember(source: string, tally: SourceTally): void {
    this.tallies.delete(source);
    this.tallies.set(source, tally);
    while (this.tallies.size > this.maxSources) {
      const oldest = this.tallies.keys().next();
      if (oldest.done === true) return;
      this.tallies.delete(oldest.value);
    }
  }
}
