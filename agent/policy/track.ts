import type { GateOutput } from './contract.js';
import type { TrackRule } from './registry-types.js';

const EARTH_RADIUS_M = 6_371_000;
const MAX_TRACKS = 8;
const MAX_PENDING = 1024;

interface PendingPoint {
  output: GateOutput;
  pathAt: number;
}

interface TrackState {
  path: number;
  lastLat: number;
  lastLon: number;
  lastSeen: number;
  pending: PendingPoint[];
}

/** Result of feeding one point: outputs now safe to release, and how many points were suppressed for good. */
export interface TrackStep {
  released: GateOutput[];
  suppressed: number;
}

/**
 * Suppresses the start and end of every track. A point is released only once it lies more than `suppressMeters`
 * of path after the track's first point (start) AND the track has gone on for `suppressMeters` of path after it
 * (end): so the tail is held back and, when the track ends (silent for maxGapMs), discarded. Only the last raw
 * position per track is kept, in memory; held-back points are already coarsened.
 */
export class TrackSuppressor {
  private readonly tracks = new Map<string, TrackState>();

  constructor(private readonly rule: TrackRule) {}

  push(trackId: string, lat: number, lon: number, at: number, output: GateOutput): TrackStep {
    let suppressed = this.expire(at);
    let state = this.tracks.get(trackId);
    if (state === undefined) {
      suppressed += this.makeRoom();
      state = { path: 0, lastLat: lat, lastLon: lon, lastSeen: at, pending: [] };
      this.tracks.set(trackId, state);
    } else {
      state.path += distanceMeters(state.lastLat, state.lastLon, lat, lon);
      state.lastLat = lat;
      state.lastLon = lon;
      state.lastSeen = Math.max(state.lastSeen, at);
    }
    if (state.path < this.rule.suppressMeters) return { released: [], suppressed: suppressed + 1 };
    state.pending.push({ output, pathAt: state.path });
    if (state.pending.length > MAX_PENDING) {
      state.pending.shift();
      suppressed += 1;
    }
    return { released: this.release(state), suppressed };
  }

  /** End tracks silent for longer than maxGapMs at `now`; returns the number of held-back points discarded. */
  expire(now: number): number {
    let discarded = 0;
    for (const [id, state] of this.tracks) {
      if (now - state.lastSeen > this.rule.maxGapMs) {
        discarded += state.pending.length;
        this.tracks.delete(id);
      }
    }
    return discarded;
  }

  /** Forget every track (policy change): returns the number of held-back points discarded. */
  clear(): number {
    let discarded = 0;
    for (const state of this.tracks.values()) discarded += state.pending.length;
    this.tracks.clear();
    return discarded;
  }

  private release(state: TrackState): GateOutput[] {
    let n = 0;
    while (n < state.pending.length && state.path - (state.pending[n]?.pathAt ?? Infinity) >= this.rule.suppressMeters) n += 1;
    return n === 0 ? [] : state.pending.splice(0, n).map((p) => p.output);
  }

  private makeRoom(): number {
    if (this.tracks.size < MAX_TRACKS) return 0;
    let oldestId: string | undefined;
    let oldest = Infinity;
    for (const [id, state] of this.tracks) {
      if (state.lastSeen < oldest) {
        oldest = state.lastSeen;
        oldestId = id;
      }
    }
    const state = oldestId === undefined ? undefined : this.tracks.get(oldestId);
    if (oldestId !== undefined) this.tracks.delete(oldestId);
    return state?.pending.length ?? 0;
  }
}

/** Haversine distance: exact enough at the 500 m scale anywhere on Earth. */
export function distanceMeters(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLon = (lon2 - lon1) * rad;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(a)));
}
