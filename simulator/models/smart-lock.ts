import { HouseholdRoutine, visitOn } from './household.js';
import { chance, mixSeed, mulberry32, pick, uniform, type Prng } from './prng.js';
import { FixedTickStepper } from './stepper.js';
import {
  DAY, DEFAULT_HOUSEHOLD, HOUR, MINUTE, SECOND, dayStart,
  type DeviceModel, type HouseholdMember, type ModelOptions, type Reading,
} from './types.js';

type Method = 'app' | 'keypad' | 'manual' | 'auto' | 'fingerprint';
type Intent = { at: number; kind: 'leave' | 'return' | 'visit-in' | 'visit-out' | 'night'; who: number };

const AUTO_USER = { id: 'auto', name: 'Auto-lock' } as const;
const AUTO_LOCK_DELAY = 30 * SECOND;

/**
 * A front-door lock driven by the household routine: members leave and come back, visitors are let in by app,
 * the last adult locks at bedtime, auto-lock closes behind people most of the time. The battery drains with use;
 * rarely the bolt jams (a safety alert) and is locked again a minute or two later.
 */
export function createSmartLockModel(options: ModelOptions): DeviceModel {
  const members = options.household ?? DEFAULT_HOUSEHOLD;
  const routine = new HouseholdRoutine(options.seed, members);
  const rng = mulberry32(mixSeed(options.seed, 'smart-lock'));
  const jamP = options.jamProbability ?? 0.004;
  const lock = { state: 'locked' as 'locked' | 'unlocked', battery: 60 + 35 * rng(), critical: false, busyUntil: 0 };
  let pending: Reading[] = [];
  let plannedDay = -Infinity;

  const emitAccess = (at: number, action: 'lock' | 'unlock', method: Method, user: { id: string; name: string }): void => {
    pending.push({ category: 'access', data: { action, method, userId: user.id, userName: user.name }, at });
    lock.battery -= 0.03;
  };
  const setState = (at: number, state: 'locked' | 'unlocked' | 'jammed'): void => {
    pending.push({ category: 'lock-state', data: { state }, at });
  };
  /** A lock attempt; returns the time the door is finally locked (later if the bolt jammed). */
  const doLock = (at: number, method: Method, user: { id: string; name: string }, by: HouseholdMember): number => {
    emitAccess(at, 'lock', method, user);
    if (chance(rng, jamP)) {
      setState(at + SECOND, 'jammed');
      pending.push({ category: 'safety-alert', data: { kind: 'jammed' }, at: at + SECOND });
      at += Math.round(uniform(rng, 60, 180)) * SECOND;
      emitAccess(at, 'lock', 'manual', by);
    }
    setState(at + SECOND, 'locked');
    lock.state = 'locked';
    return at + SECOND;
  };
  const passDoor = (at: number, unlockMethod: Method, user: HouseholdMember, autoLock: boolean): number => {
    if (lock.state === 'locked') {
      emitAccess(at, 'unlock', unlockMethod, user);
      setState(at + SECOND, 'unlocked');
      lock.state = 'unlocked';
    }
    const openAt = at + Math.round(uniform(rng, 3, 12)) * SECOND;
    const closeAt = openAt + Math.round(uniform(rng, 8, 40)) * SECOND;
    pending.push({ category: 'door', data: { open: true }, at: openAt });
    pending.push({ category: 'door', data: { open: false }, at: closeAt });
    return autoLock ? doLock(closeAt + AUTO_LOCK_DELAY, 'auto', AUTO_USER, user) : closeAt;
  };

  const planDay = (start: number): void => {
    const intents = dayIntents(options.seed, routine, members, start);
    for (const intent of intents) {
      const at = Math.max(intent.at, lock.busyUntil + 5 * SECOND);
      const who = members[intent.who] ?? members[0];
      if (!who) continue;
      lock.busyUntil = handleIntent(intent.kind, at, who, rng, passDoor, doLock, lock);
    }
    pending.push({ category: 'battery', data: { percent: Math.max(0, Math.round(lock.battery)) }, at: start });
    lock.battery -= 0.12;
    if (lock.battery < 10 && !lock.critical) {
      lock.critical = true;
      pending.push({ category: 'safety-alert', data: { kind: 'battery-critical' }, at: start + MINUTE });
    }
    for (let h = 6; h < 24; h += 6) {
      pending.push({ category: 'battery', data: { percent: Math.max(0, Math.round(lock.battery)) }, at: start + h * HOUR });
    }
  };

  const tick = (t: number, out: Reading[]): void => {
    const day = dayStart(t);
    if (day > plannedDay) {
      plannedDay = day;
      planDay(day);
      pending = pending.filter((r) => r.at >= options.startMs).sort((a, b) => a.at - b.at);
    }
    let moved = 0;
    while (moved < pending.length && (pending[moved]?.at ?? Infinity) < t + MINUTE) moved++;
    out.push(...pending.slice(0, moved));
    pending = pending.slice(moved);
  };
  const stepper = new FixedTickStepper(Math.ceil(options.startMs / MINUTE) * MINUTE, MINUTE, tick);
  return { type: 'smart-lock', step: (from, to) => stepper.step(from, to) };
}

function dayIntents(seed: number, routine: HouseholdRoutine, members: readonly HouseholdMember[], start: number): Intent[] {
  const intents: Intent[] = [];
  members.forEach((member, who) => {
    const day = routine.day(who, start);
    for (const outing of day.outings) {
      intents.push({ at: outing.leaveAt, kind: 'leave', who }, { at: outing.returnAt, kind: 'return', who });
    }
    if (member.role === 'adult') intents.push({ at: day.sleepAt - 5 * MINUTE, kind: 'night', who });
  });
  const visit = visitOn(seed, start, members.length);
  if (visit) {
    intents.push({ at: visit.arriveAt, kind: 'visit-in', who: visit.hostIndex });
    intents.push({ at: visit.leaveAt, kind: 'visit-out', who: visit.hostIndex });
  }
  return intents.filter((i) => i.at < start + DAY).sort((a, b) => a.at - b.at || a.who - b.who);
}

type PassDoor = (at: number, method: Method, user: HouseholdMember, autoLock: boolean) => number;
type DoLock = (at: number, method: Method, user: { id: string; name: string }, by: HouseholdMember) => number;

function handleIntent(
  kind: Intent['kind'], at: number, who: HouseholdMember, rng: Prng,
  passDoor: PassDoor, doLock: DoLock, lock: { state: 'locked' | 'unlocked' },
): number {
  switch (kind) {
    case 'leave':
      return passDoor(at, 'manual', who, true);
    case 'return':
      // Most people let auto-lock close behind them; some days the door stays unlocked until bedtime.
      return passDoor(at, pick(rng, ['keypad', 'keypad', 'fingerprint', 'fingerprint', 'app'] as const), who, chance(rng, 0.65));
    case 'visit-in':
      return passDoor(at, 'app', who, true);
    case 'visit-out':
      return passDoor(at, 'manual', who, true);
    case 'night':
      return lock.state === 'unlocked' ? doLock(at, 'manual', who, who) : at;
  }
}
