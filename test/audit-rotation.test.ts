import nacl from 'tweetnacl';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { keyId } from '../agent/crypto/keys.js';
import { signCheckpoint } from '../agent/audit/format.js';
import type { Frame } from '../agent/audit/format.js';
import { verifyTrail } from '../agent/audit/verify.js';
import { deviceKeys, MapStorage, openTrail, otherKeys, StepClock, frames, joinFrames } from './audit-support.js';

const join = joinFrames;

describe('audit trail: signing key rotation', () => {
  it('after rotateKey the trail verifies with the new key alone, old checkpoints included', async () => {
    const { trail } = await openTrail(new MapStorage(), { checkpointEvery: 3 });
    for (let i = 0; i < 7; i++) await trail.record('purge', { category: 'hr', removed: i, reason: 'expired' });
    await trail.rotateKey(otherKeys.secretKey, otherKeys.publicKey);
    await trail.record('agent.stop', {});
    const bytes = trail.exportTrail();
    const result = verifyTrail(bytes, otherKeys.publicKey);
    expect(result.ok).toBe(true);
    expect(result.verifiedEntries).toBe(9);
    expect(trail.entries()[7]).toMatchObject({ type: 'key.rotated', details: { purpose: 'sign', keyId: expect.any(String) } });
    // The old key alone does not vouch for what the new key signed.
    expect(verifyTrail(bytes, deviceKeys.publicKey).ok).toBe(false);
  });

  it('opening the log with a different device key hands the trail over to it', async () => {
    const { trail, storage } = await openTrail(new MapStorage(), { checkpointEvery: 2 });
    for (let i = 0; i < 5; i++) await trail.record('consent.change', { category: 'sleep', setting: 'off', version: i });
    await trail.close();
    const again = await openTrail(storage, { signSecretKey: otherKeys.secretKey, signPublicKey: otherKeys.publicKey });
    expect(again.trail.entries().at(-1)?.type).toBe('key.rotated');
    expect(verifyTrail(again.trail.exportTrail(), otherKeys.publicKey).ok).toBe(true);
  });

  it('a retired key cannot sign checkpoints after its retirement', async () => {
    const { trail } = await openTrail(new MapStorage(), { checkpointEvery: 100 });
    for (let i = 0; i < 3; i++) await trail.record('purge', { category: 'hr', removed: i, reason: 'expired' });
    await trail.rotateKey(otherKeys.secretKey, otherKeys.publicKey);
    await trail.record('agent.stop', {});
    const list = frames(trail.exportTrail());
    const last = trail.entries().at(-1)!;
    list.push({ kind: 'checkpoint', checkpoint: signCheckpoint(last.index, last.hash, last.at, deviceKeys.secretKey, keyId(deviceKeys.publicKey)) });
    expect(verifyTrail(join(list), otherKeys.publicKey).firstBreak).toMatchObject({ kind: 'forged-checkpoint', index: last.index });
  });

  it('property: any mix of records, checkpoints, reopens, rotations and trims exports a trail that verifies', async () => {
    const keys = [deviceKeys, otherKeys, nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(3))];
    const op = fc.oneof(
      fc.record({ kind: fc.constant('record' as const), n: fc.integer({ min: 1, max: 6 }) }),
      fc.record({ kind: fc.constant('checkpoint' as const) }),
      fc.record({ kind: fc.constant('reopen' as const) }),
      fc.record({ kind: fc.constant('rotate' as const), key: fc.integer({ min: 0, max: 2 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 12 }), async (ops) => {
        const storage = new MapStorage();
        const clock = new StepClock();
        let current = keys[0]!;
        const limits = { maxEntries: 12 };
        let { trail } = await openTrail(storage, { clock, limits, checkpointEvery: 5 });
        let recorded = 0;
        for (const o of ops) {
          if (o.kind === 'record') {
            for (let i = 0; i < o.n; i++) await trail.record('purge', { category: 'hr', removed: recorded++, reason: 'expired' });
          } else if (o.kind === 'checkpoint') await trail.checkpoint();
          else if (o.kind === 'reopen') {
            await trail.close();
            ({ trail } = await openTrail(storage, { clock, limits, checkpointEvery: 5, signSecretKey: current.secretKey, signPublicKey: current.publicKey }));
          } else {
            current = keys[o.key]!;
            await trail.rotateKey(current.secretKey, current.publicKey);
          }
        }
        const result = verifyTrail(trail.exportTrail(), current.publicKey);
        expect(result.firstBreak).toBeUndefined();
        expect(result.verifiedEntries).toBe(trail.entries().length);
        expect(trail.entries().length).toBeLessThanOrEqual(limits.maxEntries + 1);
      }),
      { numRuns: 40 },
    );
  });
});
