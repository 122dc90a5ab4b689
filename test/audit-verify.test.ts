import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { keyId } from '../agent/crypto/keys.js';
import { hashEntry, signCheckpoint, type AuditEntry, type Frame } from '../agent/audit/format.js';
import { verifyTrail } from '../agent/audit/verify.js';
import { deviceKeys, otherKeys, sampleTrail, frames, joinFrames } from './audit-support.js';

type EntryFrame = Extract<Frame, { kind: 'entry' }>;
const join = joinFrames;
const at = (list: Frame[], index: number): number => list.findIndex((f) => f.kind === 'entry' && f.entry.index === index);
const entryAt = (list: Frame[], index: number): AuditEntry => (list[at(list, index)] as EntryFrame).entry;
function rehash(entry: Omit<AuditEntry, 'hash'>): AuditEntry {
  return { ...entry, hash: hashEntry(entry) };
}

const { bytes: pristine } = await sampleTrail(12, 4);
const verify = (bytes: Uint8Array) => verifyTrail(bytes, deviceKeys.publicKey);

describe('verifyTrail: tampering is caught and named', () => {
  it('accepts the untouched trail', () => {
    const result = verify(pristine);
    expect(result).toMatchObject({ ok: true, entries: 12, verifiedEntries: 12 });
    expect(result.trusted).toHaveLength(12);
  });

  it('changed: an entry edited in place', () => {
    const list = frames(pristine);
    const e = entryAt(list, 5);
    list[at(list, 5)] = { kind: 'entry', entry: { ...e, details: { ...e.details, reason: 'nothing-happened' } } };
    const result = verify(join(list));
    expect(result.ok).toBe(false);
    expect(result.firstBreak).toMatchObject({ index: 5, kind: 'changed' });
    expect(result.trusted.map((x) => x.index)).toEqual([0, 1, 2, 3]); // only what a checkpoint covers before the break
  });

  it('changed: an entry edited and every later hash recomputed is caught by the checkpoints', () => {
    const list = frames(pristine);
    let prev: Uint8Array | undefined;
    for (let i = 5; i < 12; i++) {
      const e = entryAt(list, i);
      const edited = rehash({ ...e, prev: prev ?? e.prev, details: i === 5 ? { ...e.details, removed: 0 } : e.details });
      list[at(list, i)] = { kind: 'entry', entry: edited };
      prev = edited.hash;
    }
    const result = verify(join(list));
    expect(result.ok).toBe(false);
    expect(result.firstBreak).toMatchObject({ index: 4, kind: 'changed' });
  });

  it('removed: an entry taken out of the middle', () => {
    const list = frames(pristine);
    list.splice(at(list, 6), 1);
    expect(verify(join(list)).firstBreak).toMatchObject({ index: 6, kind: 'removed' });
  });

  it('removed: the first entry taken out', () => {
    const list = frames(pristine);
    list.splice(at(list, 0), 1);
    expect(verify(join(list)).firstBreak).toMatchObject({ index: 0, kind: 'removed' });
  });

  it('removed: the newest entries cut while their checkpoint stays', () => {
    const list = frames(pristine);
    list.splice(at(list, 10), 2);
    expect(verify(join(list)).firstBreak).toMatchObject({ index: 10, kind: 'removed' });
  });

  it('inserted: a well-formed entry slipped in before entry 6', () => {
    const list = frames(pristine);
    const before = entryAt(list, 5);
    const fake = rehash({ index: 6, prev: before.hash, at: before.at + 1, type: 'consent.change', details: { category: 'gps', setting: 'full' } });
    list.splice(at(list, 6), 0, { kind: 'entry', entry: fake });
    expect(verify(join(list)).firstBreak).toMatchObject({ index: 7, kind: 'inserted' });
  });

  it('inserted: entries appended after the last signed checkpoint', () => {
    const list = frames(pristine).filter((f) => !(f.kind === 'checkpoint' && f.checkpoint.index === 11));
    const last = entryAt(list, 11);
    list.push({ kind: 'entry', entry: rehash({ index: 12, prev: last.hash, at: last.at + 1, type: 'agent.stop', details: {} }) });
    expect(verify(join(list)).firstBreak).toMatchObject({ index: 8, kind: 'inserted' });
  });

  it('reordered: two entries swapped', () => {
    const list = frames(pristine);
    const i = at(list, 8);
    const j = at(list, 9);
    [list[i], list[j]] = [list[j]!, list[i]!];
    expect(verify(join(list)).firstBreak).toMatchObject({ index: 8, kind: 'reordered' });
  });

  it('forged-checkpoint: a signature byte changed', () => {
    const list = frames(pristine);
    const k = list.findIndex((f) => f.kind === 'checkpoint' && f.checkpoint.index === 7);
    const cp = (list[k] as Extract<Frame, { kind: 'checkpoint' }>).checkpoint;
    const signature = cp.signature.slice();
    signature[10] = (signature[10] ?? 0) ^ 1;
    list[k] = { kind: 'checkpoint', checkpoint: { ...cp, signature } };
    expect(verify(join(list)).firstBreak).toMatchObject({ index: 7, kind: 'forged-checkpoint' });
  });

  it('forged-checkpoint: a checkpoint signed by another key, even claiming the device key id', () => {
    const list = frames(pristine);
    const head = entryAt(list, 11);
    const forged = signCheckpoint(11, head.hash, head.at, otherKeys.secretKey, keyId(deviceKeys.publicKey));
    list.push({ kind: 'checkpoint', checkpoint: forged });
    expect(verify(join(list)).firstBreak).toMatchObject({ index: 11, kind: 'forged-checkpoint' });
    const alien = signCheckpoint(11, head.hash, head.at, otherKeys.secretKey, keyId(otherKeys.publicKey));
    expect(verify(join([...frames(pristine), { kind: 'checkpoint', checkpoint: alien }])).firstBreak?.kind).toBe('forged-checkpoint');
  });

  it('a trail checked with the wrong key does not verify', () => {
    expect(verifyTrail(pristine, otherKeys.publicKey).firstBreak?.kind).toBe('forged-checkpoint');
  });

  it('accepts checkpoints of a previous key when told about it', async () => {
    const list = frames(pristine);
    expect(verifyTrail(pristine, otherKeys.publicKey, { previousKeys: [deviceKeys.publicKey] }).ok).toBe(true);
    expect(list.length).toBeGreaterThan(0);
  });

  it('corrupt: a torn tail is corruption to the verifier, never silently dropped', () => {
    const result = verify(pristine.subarray(0, pristine.length - 3));
    expect(result.ok).toBe(false);
    expect(result.firstBreak?.kind).toBe('corrupt');
  });

  it('corrupt: garbage in the middle is reported where it starts; entries before it still verify', () => {
    const list = frames(pristine);
    const cut = join(list.slice(0, at(list, 6)));
    const garbage = Uint8Array.from([...cut, 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0xff, ...join(list.slice(at(list, 6)))]);
    const result = verify(garbage);
    expect(result.firstBreak).toMatchObject({ index: 6, kind: 'corrupt' });
    expect(result.trusted.map((e) => e.index)).toEqual([0, 1, 2, 3, 4, 5].filter((i) => i <= 3));
  });

  it('corrupt: not a trail at all', () => {
    expect(verify(Uint8Array.from([1, 2, 3])).firstBreak?.kind).toBe('corrupt');
    expect(verify(new Uint8Array(0)).ok).toBe(true); // empty: nothing claimed, nothing to trust
    expect(verify(new Uint8Array(0)).verifiedEntries).toBe(0);
  });

  it('any single-byte change to the export is detected', async () => {
    // A short trail with two checkpoints keeps each run to two signature checks; every frame kind is still present.
    const { bytes: small } = await sampleTrail(6, 3);
    fc.assert(
      fc.property(fc.nat(small.length - 1), fc.integer({ min: 1, max: 255 }), (offset, xor) => {
        const bytes = small.slice();
        bytes[offset] = (bytes[offset] ?? 0) ^ xor;
        const result = verify(bytes);
        return !result.ok && result.firstBreak !== undefined;
      }),
      { numRuns: 400 },
    );
  });
});
