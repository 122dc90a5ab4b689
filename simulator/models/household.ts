import { chance, mixSeed, mulberry32, uniform } from './prng.js';
import { DAY, HOUR, MINUTE, type HouseholdMember } from './types.js';

/** One member's day: when they wake, go out and come back, and go to bed. Times are absolute ms. */
export interface MemberDay {
  wakeAt: number;
  sleepAt: number;
  outings: Array<{ leaveAt: number; returnAt: number }>;
}

export interface Visit {
  arriveAt: number;
  leaveAt: number;
  /** The member who lets the visitor in (remotely, by app, or at the door). */
  hostIndex: number;
}

function isWeekend(dayStartMs: number): boolean {
  const weekday = new Date(dayStartMs).getUTCDay();
  return weekday === 0 || weekday === 6;
}

/**
 * The routine is derived from (seed, member, day) alone, so the thermostat, the lock and the tracker of one
 * household agree on who is home without sharing state, whatever order they are stepped in.
 */
export function memberDay(seed: number, member: HouseholdMember, index: number, dayStartMs: number): MemberDay {
  const rng = mulberry32(mixSeed(seed, 'member-day', index, dayStartMs));
  const at = (h0: number, h1: number): number => dayStartMs + Math.round(uniform(rng, h0, h1) * HOUR / MINUTE) * MINUTE;
  const weekend = isWeekend(dayStartMs);
  const child = member.role === 'child';
  const wakeAt = weekend ? at(7.5, 9) : at(6.25, 7.1);
  const sleepAt = child ? at(20.5, 21.25) : at(22.25, 23.5);
  const outings: MemberDay['outings'] = [];
  if (!weekend && child) outings.push({ leaveAt: at(7.5, 7.9), returnAt: at(15.5, 16.5) });
  else if (!weekend && !chance(rng, 0.2)) outings.push({ leaveAt: at(7.75, 8.5), returnAt: at(17, 18.5) });
  else {
    const count = Math.floor(uniform(rng, 0, 2.6));
    let cursor = 9.5;
    for (let i = 0; i < count && cursor < 18; i++) {
      const leave = uniform(rng, cursor, Math.min(cursor + 3, 18));
      const back = leave + uniform(rng, 0.75, 3);
      outings.push({ leaveAt: at(leave, leave), returnAt: at(back, back) });
      cursor = back + 0.5;
    }
  }
  return { wakeAt, sleepAt, outings };
}

export function isHome(day: MemberDay, t: number): boolean {
  return !day.outings.some((o) => t >= o.leaveAt && t < o.returnAt);
}

/** At most one visitor a day, in the afternoon or evening. */
export function visitOn(seed: number, dayStartMs: number, members: number): Visit | undefined {
  const rng = mulberry32(mixSeed(seed, 'visit', dayStartMs));
  if (!chance(rng, 0.35)) return undefined;
  const arrive = uniform(rng, 14, 19.5);
  const stay = uniform(rng, 0.5, 2.5);
  const hostIndex = Math.floor(rng() * members);
  const round = (h: number): number => dayStartMs + Math.round(h * HOUR / MINUTE) * MINUTE;
  return { arriveAt: round(arrive), leaveAt: round(arrive + stay), hostIndex };
}

/** Cache of member days for one household (the models ask about the same day many times). */
export class HouseholdRoutine {
  private readonly cache = new Map<string, MemberDay>();
  constructor(
    readonly seed: number,
    readonly members: readonly HouseholdMember[],
  ) {}

  day(index: number, dayStartMs: number): MemberDay {
    const key = `${index}:${dayStartMs}`;
    let plan = this.cache.get(key);
    if (!plan) {
      const member = this.members[index];
      if (!member) throw new RangeError('no such household member');
      plan = memberDay(this.seed, member, index, dayStartMs);
      if (this.cache.size > 64) this.cache.clear();
      this.cache.set(key, plan);
    }
    return plan;
  }

  homeCount(t: number): number {
    const start = Math.floor(t / DAY) * DAY;
    let count = 0;
    for (let i = 0; i < this.members.length; i++) if (isHome(this.day(i, start), t)) count++;
    return count;
  }

  /** Everyone at home is asleep (and someone is home). */
  allAsleep(t: number): boolean {
    const start = Math.floor(t / DAY) * DAY;
    let home = 0;
    for (let i = 0; i < this.members.length; i++) {
      const day = this.day(i, start);
      if (!isHome(day, t)) continue;
      home++;
      if (!(t < day.wakeAt || t >= day.sleepAt)) return false;
    }
    return home > 0;
  }
}
