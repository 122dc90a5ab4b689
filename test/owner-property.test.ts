import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { OwnerStore } from '../agent/owner/owner-store.js';
import { signRequest, type RequestFields } from '../agent/owner/requests.js';
import { generateOwnerKeys } from '../companion/index.js';
import { applyPreferencePatch, CATEGORIES, DEFAULTS, fileStorage, rawClient, startAedes, startDevice, type BrokerHandle, type Preferences } from './owner-support.js';

let broker: BrokerHandle;
beforeAll(async () => { broker = await startAedes(); });
afterAll(async () => { await broker.close(); });

const setting = fc.constantFrom('off', 'minimised', 'full');
const validPatch = fc.dictionary(fc.constantFrom(...CATEGORIES), setting, { minKeys: 1 });
const invalidPatch = fc.oneof(
  fc.record({ heartRate: setting }),
  fc.record({ names: fc.constantFrom('everything', 'on', '') }),
);

type Op =
  | { t: 'patch'; patch: Record<string, string>; versioned: boolean }
  | { t: 'invalid'; patch: Record<string, string> }
  | { t: 'reset' }
  | { t: 'stale' }
  | { t: 'replay'; pick: number }
  | { t: 'expired' }
  | { t: 'forged' }
  | { t: 'stranger' }
  | { t: 'truncated' };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant('patch' as const), patch: validPatch, versioned: fc.boolean() }) },
  fc.record({ t: fc.constant('invalid' as const), patch: invalidPatch }),
  fc.constant({ t: 'reset' as const }),
  fc.constant({ t: 'stale' as const }),
  fc.record({ t: fc.constant('replay' as const), pick: fc.nat() }),
  fc.constant({ t: 'expired' as const }),
  fc.constant({ t: 'forged' as const }),
  fc.constant({ t: 'stranger' as const }),
  fc.constant({ t: 'truncated' as const }),
);

let runs = 0;

describe('owner channel invariant', () => {
  it('ends in the state of applying only the valid requests, in order', async () => {
    await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 10 }), async (ops) => {
      const deviceId = `prop-${process.pid}-${runs++}`;
      const keys = generateOwnerKeys();
      const stranger = generateOwnerKeys();
      const { storage } = await fileStorage();
      await new OwnerStore(storage).register(keys.signPublicKey, keys.boxPublicKey, 0);
      // Backoff off here: the invariant is about what gets applied; backoff has its own test.
      const device = await startDevice(broker.url, deviceId, { rateLimit: { freeFailures: 1_000 } }, storage);
      const raw = await rawClient(broker.url, deviceId, () => device.identity().signPublicKey);
      let model: Preferences = { ...DEFAULTS };
      let version = 0;
      const sent: Uint8Array[] = [];
      let n = 0;
      const make = (over: Partial<RequestFields>): RequestFields => {
        const now = Date.now();
        return { deviceId, clientToken: `c${n++}`, issuedAt: now, expiresAt: now + 60_000, kind: 'set-preferences', ...over };
      };
      const sign = (f: RequestFields, key = keys.signSecretKey): Uint8Array => signRequest(f, key);
      try {
        for (const o of ops) {
          let bytes: Uint8Array;
          switch (o.t) {
            case 'patch':
              bytes = sign(make({ desired: o.patch, ...(o.versioned ? { expectedVersion: version } : {}) }));
              model = applyPreferencePatch(model, o.patch);
              version += 1;
              break;
            case 'invalid': bytes = sign(make({ desired: o.patch, expectedVersion: version })); break;
            case 'reset':
              bytes = sign(make({ kind: 'reset', expectedVersion: version }));
              model = { ...DEFAULTS };
              version += 1;
              break;
            case 'stale': bytes = sign(make({ desired: { names: 'full' }, expectedVersion: version + 1 })); break;
            case 'replay': bytes = sent.length === 0 ? new Uint8Array([0xff]) : sent[o.pick % sent.length]!; break;
            case 'expired': bytes = sign(make({ desired: { names: 'full' }, issuedAt: Date.now() - 7_200_000, expiresAt: Date.now() - 3_600_000 })); break;
            case 'forged': bytes = sign(make({ desired: { names: 'full' } })); bytes[bytes.length - 1]! ^= 0x40; break;
            case 'stranger': bytes = sign(make({ desired: { names: 'full' } }), stranger.signSecretKey); break;
            case 'truncated': bytes = sign(make({ desired: { names: 'full' } })).subarray(0, 40); break;
          }
          sent.push(bytes);
          await raw.send(bytes);
        }
        // Requests are handled in order, one at a time: once this reply is in, all the above have been handled.
        const final = make({ kind: 'get-state' });
        await raw.send(sign(final));
        const reply = await raw.reply(final.clientToken);
        expect(reply.outcome).toBe('accepted');
        expect(device.actions.prefs).toEqual(model);
        expect(device.actions.version).toBe(version);
        expect(reply['version']).toBe(version);
      } finally {
        await raw.close();
        await device.transport.close();
      }
    }), { numRuns: 25 });
  });
});
