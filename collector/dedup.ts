/**
 * The collector's memory of what it has already accepted. Both structures only ever learn from authenticated
 * envelopes, so forged input cannot fill them, and both are bounded.
 */

/**
 * Envelope replay detection for one (device, session): an IPsec-style sliding window over the envelope
 * sequence. Seqs more than `window` below the highest seen are treated as replays: a live agent never sends
 * that far out of order, and remembering every seq forever would grow without bound.
 */
class SeqWindow {
  private top = -1;
  private readonly seen = new Set<number>();

  constructor(private readonly window: number) {}

  has(seq: number): boolean {
    return seq <= this.top - this.window || this.seen.has(seq);
  }

  add(seq: number): void {
    this.seen.add(seq);
    if (seq > this.top) this.top = seq;
    if (this.seen.size > 2 * this.window) {
      for (const old of this.seen) if (old <= this.top - this.window) this.seen.delete(old);
    }
  }
}

export class ReplayGuard {
  /** deviceId -> (session hex -> window); inner maps are kept in least-recently-used order. */
  private readonly devices = new Map<string, Map<string, SeqWindow>>();

  constructor(
    private readonly window: number,
    private readonly maxSessionsPerDevice: number,
  ) {}

  seen(deviceId: string, session: string, seq: number): boolean {
    return this.devices.get(deviceId)?.get(session)?.has(seq) ?? false;
  }

  record(deviceId: string, session: string, seq: number): void {
    let sessions = this.devices.get(deviceId);
    if (sessions === undefined) {
      sessions = new Map();
      this.devices.set(deviceId, sessions);
    }
    let window = sessions.get(session);
    if (window === undefined) window = new SeqWindow(this.window);
    sessions.delete(session);
    sessions.set(session, window);
    window.add(seq);
    if (sessions.size > this.maxSessionsPerDevice) {
      const oldest = sessions.keys().next().value;
      if (oldest !== undefined) sessions.delete(oldest);
    }
  }
}

/**
 * Reading dedup by (device, session, seq). A reading only needs remembering until it expires: after its
 * expiry it is refused as expired on arrival anyway. So entries carry their expiry and are swept; a hard
 * cap evicts the oldest when a burst of long-lived readings would exceed it.
 */
export class ReadingTracker {
  private readonly entries = new Map<string, number>();
  private insertsSinceSweep = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly sweepEvery = 65_536,
  ) {}

  /** true when the reading is new (and now remembered), false for a duplicate. */
  admit(deviceId: string, session: string, seq: number, expiresAt: number, now: number): boolean {
    // '\u0000' cannot occur in a device id (topic charset), so keys cannot collide across devices.
    const key = `${deviceId}\u0000${session}\u0000${seq}`;
    if (this.entries.has(key)) return false;
    this.entries.set(key, expiresAt);
    if (++this.insertsSinceSweep >= this.sweepEvery || this.entries.size > this.maxEntries) this.sweep(now);
    return true;
  }

  get size(): number {
    return this.entries.size;
  }

  private sweep(now: number): void {
    this.insertsSinceSweep = 0;
    for (const [key, expiresAt] of this.entries) if (expiresAt <= now) this.entries.delete(key);
    const target = Math.floor(this.maxEntries * 0.9);
    if (this.entries.size <= this.maxEntries) return;
    for (const key of this.entries.keys()) {
      if (this.entries.size <= target) break;
      this.entries.delete(key);
    }
  }
}
