import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isTrustError } from '../agent/errors.js';
import { assertAuditDetails } from '../agent/audit/events.js';
import { encodeFrame, type Frame } from '../agent/audit/format.js';
import { verifyTrail } from '../agent/audit/verify.js';
import { AUDIT_FILE } from '../agent/audit/trail.js';
import { deviceKeys, MapStorage, openTrail, sampleTrail, StepClock, frames, joinFrames } from './audit-support.js';

const join = joinFrames;

describe('audit trail: recording and persistence', () => {
  it('chains entries, signs checkpoints every N entries and exports a verifiable trail', async () => {
    const { trail, bytes } = await sampleTrail(10, 4);
    const entries = trail.entries();
    expect(entries.map((e) => e.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (let i = 1; i < entries.length; i++) expect(entries[i]!.prev).toEqual(entries[i - 1]!.hash);
    expect(trail.checkpoints().map((c) => c.index)).toEqual([3, 7]);
    const result = verifyTrail(bytes, deviceKeys.publicKey);
    expect(result.ok).toBe(true);
    expect(result.verifiedEntries).toBe(10);
    expect(result.head?.index).toBe(9); // the export signed the head
    expect(result.firstBreak).toBeUndefined();
  });

  it('persists every entry (append + sync) and reopens to the same chain', async () => {
    const { trail, storage } = await sampleTrail(7, 3);
    await trail.close();
    const again = await openTrail(storage);
    expect(again.trail.entries()).toEqual(trail.entries());
    const next = await again.trail.record('agent.start', { version: '0.1.0' });
    expect(next.index).toBe(7);
    expect(next.prev).toEqual(trail.entries()[6]!.hash);
    expect(verifyTrail(again.trail.exportTrail(), deviceKeys.publicKey).ok).toBe(true);
  });

  it('cuts a torn final frame on open and says so', async () => {
    const { trail, storage } = await sampleTrail(5, 2);
    await trail.close();
    const file = storage.files.get(AUDIT_FILE)!;
    const goodLength = file.length;
    const partial = encodeFrame({ kind: 'entry', entry: { ...trail.entries()[4]!, index: 5 } }).subarray(0, 9);
    storage.files.set(AUDIT_FILE, Uint8Array.from([...file, ...partial]));
    const again = await openTrail(storage);
    expect(again.trail.recoveredTornTail).toBe(true);
    expect(storage.files.get(AUDIT_FILE)!.length).toBe(goodLength);
    expect(again.trail.entries()).toHaveLength(5);
  });

  it('refuses to open a log that is corrupt in the middle, and changes nothing', async () => {
    const { trail, storage } = await sampleTrail(6, 2);
    await trail.close();
    const list = frames(storage.files.get(AUDIT_FILE)!);
    const i = list.findIndex((f) => f.kind === 'entry' && f.entry.index === 2);
    const f = list[i] as Extract<Frame, { kind: 'entry' }>;
    list[i] = { kind: 'entry', entry: { ...f.entry, details: { ...f.entry.details, removed: 999 } } };
    const tampered = join(list);
    storage.files.set(AUDIT_FILE, tampered);
    await expect(openTrail(storage)).rejects.toSatisfy((e) => isTrustError(e, 'CORRUPT'));
    expect(storage.files.get(AUDIT_FILE)).toEqual(tampered);
  });

  it('a failed append leaves the file and the chain as they were', async () => {
    const { trail, storage } = await sampleTrail(3, 100);
    const before = storage.files.get(AUDIT_FILE)!.slice();
    storage.failAppend = true;
    await expect(trail.record('purge', { category: 'steps', removed: 1, reason: 'expired' })).rejects.toSatisfy((e) => isTrustError(e, 'STORAGE'));
    expect(storage.files.get(AUDIT_FILE)).toEqual(before);
    expect(trail.entries()).toHaveLength(3);
    storage.failAppend = false;
    const next = await trail.record('purge', { category: 'steps', removed: 1, reason: 'expired' });
    expect(next.index).toBe(3);
    expect(verifyTrail(trail.exportTrail(), deviceKeys.publicKey).ok).toBe(true);
  });

  it('serialises concurrent records into one chain', async () => {
    const { trail } = await openTrail(new MapStorage(), { checkpointEvery: 5 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => trail.record('purge', { category: 'hr', removed: i, reason: 'expired' })));
    expect(trail.entries().map((e) => e.details['removed'])).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(verifyTrail(trail.exportTrail(), deviceKeys.publicKey).ok).toBe(true);
  });

  it('rejects records after close', async () => {
    const { trail } = await openTrail();
    await trail.close();
    await expect(trail.record('agent.stop', {})).rejects.toSatisfy((e) => isTrustError(e, 'CLOSED'));
  });
});

describe('audit trail: no personal values', () => {
  const refused: [string, Record<string, unknown>][] = [
    ['a name key', { name: 'Alice' }],
    ['a reading key', { value: 21.5 }],
    ['prose in a category', { category: 'Alice Smith' }],
    ['a nested object', { category: { lat: 52.1 } }],
    ['a negative count', { removed: -1 }],
    ['a fractional count', { removed: 1.5 }],
    ['a long token', { reason: 'x'.repeat(49) }],
    ['an unknown setting', { setting: 'everything' }],
  ];
  it.each(refused)('refuses %s', async (_, details) => {
    const { trail } = await openTrail();
    const type = 'setting' in details ? 'consent.change' : 'purge';
    await expect(trail.record(type, details as never)).rejects.toSatisfy((e) => isTrustError(e, 'INVALID_ARGUMENT'));
    expect(trail.entries()).toHaveLength(0);
  });

  it('never echoes the refused value in the error', () => {
    try {
      assertAuditDetails('purge', { category: 'Alice Smith' });
      expect.unreachable();
    } catch (e) {
      expect(String((e as Error).message)).not.toContain('Alice');
    }
  });
});

describe('audit trail: retention bound', () => {
  it('trims to the size bound with a signed base and a trail.trimmed entry, and stays verifiable', async () => {
    const { trail, storage } = await openTrail(new MapStorage(), { limits: { maxEntries: 20 }, checkpointEvery: 8 });
    for (let i = 0; i < 60; i++) await trail.record('purge', { category: 'hr', removed: i, reason: 'expired' });
    const entries = trail.entries();
    expect(entries.length).toBeLessThanOrEqual(21);
    expect(entries.some((e) => e.type === 'trail.trimmed')).toBe(true);
    const result = verifyTrail(trail.exportTrail(), deviceKeys.publicKey);
    expect(result.ok).toBe(true);
    expect(result.base?.index).toBe(entries[0]!.index - 1);
    // The reopened log is the trimmed one.
    const again = await openTrail(storage);
    expect(again.trail.entries()).toEqual(entries);
  });

  it('trims by age, but never below the minimum kept after a clock jump', async () => {
    const clock = new StepClock(1_750_000_000_000, 60_000);
    const { trail } = await openTrail(new MapStorage(), { clock, limits: { maxAgeMs: 10 * 60_000 } });
    for (let i = 0; i < 80; i++) await trail.record('purge', { category: 'hr', removed: i, reason: 'expired' });
    const first = trail.entries()[0]!.index;
    expect(first).toBeGreaterThan(30); // old entries went
    expect(trail.entries().length).toBeLessThanOrEqual(40);
    clock.wall += 10 * 365 * 24 * 3600_000; // the clock jumps ten years ahead
    await trail.record('agent.start', { version: '0.1.0' });
    expect(trail.entries().length).toBeGreaterThanOrEqual(32);
    expect(verifyTrail(trail.exportTrail(), deviceKeys.publicKey).ok).toBe(true);
  });

  it('a trimmed trail whose base checkpoint is removed does not verify', async () => {
    const { trail } = await openTrail(new MapStorage(), { limits: { maxEntries: 10 }, checkpointEvery: 100 });
    for (let i = 0; i < 15; i++) await trail.record('purge', { category: 'hr', removed: i, reason: 'expired' });
    const list = frames(trail.exportTrail());
    const base = list.find((f) => f.kind === 'base') as Extract<Frame, { kind: 'base' }>;
    const stripped = list.filter((f) => !(f.kind === 'checkpoint' && f.checkpoint.index === base.base.index));
    const result = verifyTrail(join(stripped), deviceKeys.publicKey);
    expect(result.ok).toBe(false);
    expect(result.firstBreak?.kind).toBe('removed');
  });
});

describe('audit trail: a corrupt log at start', () => {
  async function corruptLog(): Promise<MapStorage> {
    const { trail, storage } = await sampleTrail(6, 2);
    await trail.close();
    const list = frames(storage.files.get(AUDIT_FILE)!);
    const i = list.findIndex((f) => f.kind === 'entry' && f.entry.index === 3);
    const f = list[i] as Extract<Frame, { kind: 'entry' }>;
    list[i] = { kind: 'entry', entry: { ...f.entry, at: f.entry.at + 1 } };
    storage.files.set(AUDIT_FILE, join(list));
    return storage;
  }

  it('with recoverCorrupt: keeps the damaged bytes as they were, starts a new chain and records a failed selfcheck', async () => {
    const storage = await corruptLog();
    const damaged = storage.files.get(AUDIT_FILE)!.slice();
    const { trail } = await openTrail(storage, { recoverCorrupt: true });
    expect(trail.recoveredCorrupt).toMatchObject({ kind: 'changed', index: 3 });
    expect(storage.files.get(trail.recoveredCorrupt!.preservedAs)).toEqual(damaged);
    expect(trail.entries().map((e) => [e.index, e.type, e.details['reason']])).toEqual([[0, 'selfcheck', 'audit-trail-corrupt']]);
    expect(verifyTrail(trail.exportTrail(), deviceKeys.publicKey).ok).toBe(true);
    // The preserved copy still shows the break to any verifier.
    expect(verifyTrail(damaged, deviceKeys.publicKey).firstBreak).toMatchObject({ kind: 'changed', index: 3 });
  });

  it('without it: CORRUPT, and nothing is written', async () => {
    const storage = await corruptLog();
    const names = await storage.list('');
    await expect(openTrail(storage)).rejects.toSatisfy((e) => isTrustError(e, 'CORRUPT'));
    expect(await storage.list('')).toEqual(names);
  });
});

describe('owner channel events', () => {
  it('map onto trail types and pass the guard', async () => {
    const { ownerAuditEvent } = await import('../agent/audit/owner-events.js');
    const { trail } = await openTrail();
    const events: [string, Record<string, string | number | boolean>][] = [
      ['owner-paired', { ownerKeyId: '00112233aabbccdd' }],
      ['owner-pairing-rejected', { code: 'AUTH_FAILED' }],
      ['owner-request-rejected', { code: 'VERSION_CONFLICT', source: 'owner' }],
      ['owner-requests-rate-limited', { source: 'others', failures: 5 }],
    ];
    for (const [name, details] of events) {
      const event = ownerAuditEvent(name, details);
      await trail.record(event.type, event.details);
    }
    expect(trail.entries().map((e) => e.type)).toEqual(['pairing', 'pairing', 'command.rejected', 'command.rejected']);
    expect(() => ownerAuditEvent('owner-said-hello', {})).toThrow();
  });
});
