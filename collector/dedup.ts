/**
 * The collector's memory of what it has already accepted. Both structures only ever learn from authenticated
 * envelopes, so forged input cannot fill them, and both are bounded.
 */

/** One fact the collector learned, as the persistent state log stores it (collector/state.ts). */
export type StateEvent =
  | { kind: 'envelope'; deviceId: string; replayKey: string; seq: number }
  | { kind: 'reading'; deviceId: string; session: string; seq: number; expiresAt: number };

export type Journal = (event: StateEvent) => void;

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

  /** What must be remembered to rebuild this window: the top and every seq still inside the window. */
  remembered(): number[] {
    return [...this.seen].filter((seq) => seq > this.top - this.window || seq === this.top);
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
  /** Told every accepted envelope (set by a persistent state log after it restored this guard). */
  journal: Journal | undefined;

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
    this.journal?.({ kind: 'envelope', deviceId, replayKey: session, seq });
    if (sessions.size > this.maxSessionsPerDevice) {
      const oldest = sessions.keys().next().value;
      if (oldest !== undefined) sessions.delete(oldest);
    }
  }

  /** Everything remembered, as events that rebuild it (oldest session first, so LRU order survives). */
  *export(): Generator<StateEvent> {
    for (const [deviceId, sessions] of this.devices) {
      for (const [replayKey, window] of sessions) {
        for (const seq of window.remembered()) yield { kind: 'envelope', deviceId, replayKey, seq };
      }
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
  /** Told every admitted reading (set by a persistent state log after it restored this tracker). */
  journal: Journal | undefined;

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
    this.journal?.({ kind: 'reading', deviceId, session, seq, expiresAt });
    if (++this.insertsSinceSweep >= this.sweepEvery || this.entries.size > this.maxEntries) this.sweep(now);
    return true;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Every unexpired reading remembered, as events that rebuild this tracker. */
  *export(now: number): Generator<StateEvent> {
    for (const [key, expiresAt] of this.entries) {
      if (expiresAt <= now) continue;
      const [deviceId = '', session = '', seq = '0'] = key.split('\u0000');
      yield { kind: 'reading', deviceId, session, seq: Number(seq), expiresAt };
    }
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
