import nacl from 'tweetnacl';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeCbor } from '../agent/codec/cbor.js';
import { parseScenario } from '../simulator/scenario/loader.js';
import type { Scenario } from '../simulator/scenario/types.js';
import { encodeCompact } from '../agent/codec/cbor-compact.js';
import { checkVerdicts, envelopeProblem, type Evidence, type Verdict } from '../simulator/verdicts/index.js';
import { referenceEvidence } from '../simulator/verdicts/reference.js';

const HOUR = 3_600_000;

/** Two days exercising every verdict: opt-ins, a withdrawal, an outage, hostile input, data rights. */
const PROBE = {
  name: 'verdict-probe',
  seed: 99,
  start: '2026-01-05T00:00:00Z',
  duration: '2d',
  fleet: [
    { type: 'thermostat', count: 1, idPrefix: 'thermostat' },
    { type: 'smart-lock', count: 1, idPrefix: 'lock' },
    { type: 'fitness-tracker', count: 1, idPrefix: 'tracker' },
  ],
  events: [
    { at: '1h', type: 'preference', device: 'tracker-1', patch: { 'heart-rate': 'minimised', location: { setting: 'minimised', retention: '12h' }, activity: 'full' } },
    { at: '6h', type: 'broker-outage', duration: '2h' },
    { at: '20h', type: 'hostile', device: 'lock-1', kind: 'forged', count: 3 },
    { at: '1d', type: 'export', device: 'tracker-1' },
    { at: '1d9h', type: 'preference', device: 'tracker-1', patch: { activity: 'off' } },
    { at: '1d12h', type: 'erase', device: 'thermostat-1' },
  ],
};

let scenario: Scenario;
let clean: Evidence;
let cleanVerdicts: Verdict[];

beforeAll(() => {
  const result = parseScenario(JSON.stringify(PROBE));
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  scenario = result.scenario;
  clean = referenceEvidence(scenario, { snapshotEveryMs: 4 * HOUR });
  cleanVerdicts = checkVerdicts(clean);
});

const verdict = (evidence: Evidence, id: string): Verdict => {
  const found = checkVerdicts(evidence).find((v) => v.id === id);
  if (!found) throw new Error(`no verdict ${id}`);
  return found;
};
const copy = (): Evidence => structuredClone(clean);
const at = (offsetMs: number): number => scenario.startMs + offsetMs;

function expectFails(evidence: Evidence, id: string, why: string | RegExp): Verdict {
  const v = verdict(evidence, id);
  expect(v.pass, `${id} should fail`).toBe(false);
  expect(v.violations + (v.summary.includes('no recorded result') || v.summary.includes('not demonstrated') || v.summary.includes('nothing to check') ? 1 : 0)).toBeGreaterThan(0);
  expect(JSON.stringify(v)).toMatch(why);
  return v;
}

describe('verdicts on clean evidence', () => {
  it('an ideal agent passes every verdict, and every verdict checked something', () => {
    for (const v of cleanVerdicts) {
      expect(v.pass, `${v.id}: ${v.summary}`).toBe(true);
      expect(v.checked, v.id).toBeGreaterThan(0);
    }
    expect(cleanVerdicts.map((v) => v.id)).toEqual(['withdrawal', 'minimisation', 'retention', 'wire-encrypted', 'delivery', 'preferences', 'hostile', 'data-rights', 'audit-trail']);
  });

  it('is deterministic', () => {
    expect(checkVerdicts(referenceEvidence(scenario, { snapshotEveryMs: 4 * HOUR }))).toEqual(cleanVerdicts);
  });
});

describe('each verdict fails on a crafted violation', () => {
  it('withdrawal: heart rate delivered before the owner opted in', () => {
    const e = copy();
    e.delivered.push({ deviceId: 'tracker-1', id: 'x:1', category: 'heart-rate', at: at(10 * 60_000), expiresAt: at(DAY()), data: { bpmMin: 60, bpmAvg: 60, bpmMax: 60 }, receivedAt: at(11 * 60_000) });
    expectFails(e, 'withdrawal', /taken while the category was off/);
  });

  it('withdrawal: queued activity delivered after it was turned off', () => {
    const e = copy();
    const r = e.delivered.find((d) => d.category === 'activity' && d.at > at(32 * HOUR));
    if (!r) throw new Error('fixture has no late activity');
    r.receivedAt = at(34 * HOUR);
    expectFails(e, 'withdrawal', /after withdrawal/);
  });

  it('withdrawal: data of an off category left in a device store', () => {
    const e = copy();
    const snap = e.stores.find((s) => s.deviceId === 'tracker-1' && s.takenAt === at(36 * HOUR));
    snap?.records.push({ id: 'x:2', category: 'activity', at: at(32 * HOUR), expiresAt: at(20 * DAY()) });
    expectFails(e, 'withdrawal', /stored on the device while the category is off/);
  });

  it('minimisation: raw GPS precision, a point at home, identities in lock events, raw heart rate', () => {
    const cases: Array<[(e: Evidence) => void, RegExp]> = [
      [(e) => { const r = e.delivered.find((d) => d.category === 'location' && d.at > at(3 * HOUR)); if (r) r.data.lat = 52.37817; }, /lat precision beyond the 0\.01 grid/],
      [(e) => { const r = e.delivered.find((d) => d.category === 'access' && d.at > at(3 * HOUR)); if (r) r.data.userName = 'Alice Martin'; }, /userName/],
      [(e) => { const r = e.delivered.find((d) => d.category === 'access' && d.at > at(3 * HOUR)); if (r) r.data.userId = 'u-7f3a91'; }, /raw userId/],
      [(e) => { const r = e.delivered.find((d) => d.category === 'heart-rate' && d.at > at(3 * HOUR)); if (r) r.data = { bpm: 73 }; }, /field bpm sent instead of the per-minute aggregate/],
      [(e) => { const r = e.delivered.find((d) => d.category === 'climate' && d.at > at(3 * HOUR)); if (r) r.data.temperatureC = 20.37; }, /temperatureC not rounded to 0\.5/],
    ];
    for (const [mutate, why] of cases) {
      const e = copy();
      mutate(e);
      expectFails(e, 'minimisation', why);
    }
  });

  it('minimisation: the start of a track (first 500 m of path) was not suppressed', () => {
    const e = copy();
    const tracker = scenario.devices.find((d) => d.type === 'fitness-tracker');
    const first = e.delivered.find((d) => d.category === 'location' && d.at > at(3 * HOUR));
    if (!tracker || !first) throw new Error('fixture has no location');
    // Find the raw start of that track by walking back 10 s steps while the checker's replay has points.
    const leak = { ...first, id: 'x:3', at: first.at - 60_000 * 3 };
    e.delivered.push(leak);
    e.accepted.push({ deviceId: leak.deviceId, id: leak.id, category: 'location', at: leak.at, expiresAt: leak.expiresAt, transmit: true });
    expectFails(e, 'minimisation', /first 500 m of its track/);
  });

  it('retention: delivered after expiry, stored past expiry, expiry beyond the limit', () => {
    const late = copy();
    const r = late.delivered[5];
    if (r) r.receivedAt = r.expiresAt + 1;
    expectFails(late, 'retention', /delivered after its expiry/);

    const stale = copy();
    const snap = stale.stores.find((s) => s.records.length > 0 && s.takenAt > at(30 * HOUR));
    const rec = snap?.records[0];
    if (rec && snap) rec.expiresAt = snap.takenAt - 10 * 60_000;
    expectFails(stale, 'retention', /expired record still stored/);

    const long = copy();
    const loc = long.delivered.find((d) => d.category === 'location');
    if (loc) loc.expiresAt = loc.at + 2 * DAY();
    expectFails(long, 'retention', /beyond the allowed retention/);
  });

  it('wire: plaintext CBOR, a readable ciphertext, a personal value on another topic, no telemetry at all', () => {
    const plain = copy();
    const msg = plain.wire[0];
    if (msg) msg.payload = encodeCbor({ c: 'heart-rate', d: { bpm: 70 } });
    expectFails(plain, 'wire-encrypted', /values other than integers and bytes|not a CBOR map/);

    const fake = copy();
    const m2 = fake.wire[1];
    if (m2) m2.payload = encodeCbor({ v: 1, n: new Uint8Array(24), ct: encodeCbor({ r: [{ c: 'location', d: { lat: 52.37, lon: 4.9 } }] }) });
    expectFails(fake, 'wire-encrypted', /readable CBOR/);

    const leak = copy();
    leak.wire.push({ topic: 'ta/v1/lock-1/state', payload: new TextEncoder().encode('{"owner":"Alice Martin"}'), at: at(HOUR) });
    expectFails(leak, 'wire-encrypted', /personal value/);

    const none = copy();
    none.wire = none.wire.filter((w) => !w.topic.endsWith('/telemetry'));
    none.wire.push({ topic: 'ta/v1/lock-1/status', payload: new TextEncoder().encode('online'), at: at(0) });
    expectFails(none, 'wire-encrypted', /not demonstrated/);
  });

  it('wire: a real sealed envelope is accepted, its plaintext is not', () => {
    const key = new Uint8Array(32).fill(1);
    const nonce = new Uint8Array(24).fill(2);
    const inner = encodeCbor({ r: [{ c: 'heart-rate', d: { bpm: 72 } }] });
    expect(envelopeProblem(encodeCbor({ v: 1, alg: 1, n: nonce, ct: nacl.secretbox(inner, nonce, key) }))).toBeUndefined();
    expect(envelopeProblem(encodeCbor({ v: 1, alg: 1, n: nonce, ct: inner }))).toMatch(/readable CBOR/);
    expect(envelopeProblem(new Uint8Array([0xff, 0x00]))).toMatch(/not a CBOR map/);
    // v2: an array with a derived nonce (none on the wire).
    const sid = new Uint8Array(8).fill(3);
    const v2inner = encodeCompact([1_767_225_600, 0, new Uint8Array(0), [0, 'heart-rate', 0, 0, { bpm: 72 }]]);
    expect(envelopeProblem(encodeCompact([2, 1, sid, 0, nacl.secretbox(v2inner, nonce, key)]))).toBeUndefined();
    expect(envelopeProblem(encodeCompact([2, 1, sid, 0, v2inner]))).toMatch(/readable CBOR/);
    expect(envelopeProblem(encodeCompact([3, 1, sid, 0, nacl.secretbox(v2inner, nonce, key)]))).toMatch(/not v2/);
  });

  it('delivery: a reading lost, a reading delivered twice, a phantom reading, no baseline', () => {
    const lost = copy();
    const idx = lost.delivered.findIndex((d) => d.category === 'climate' && d.at > at(38 * HOUR));
    lost.delivered.splice(idx, 1);
    expectFails(lost, 'delivery', /never delivered/);

    const twice = copy();
    const dup = twice.delivered[10];
    if (dup) twice.delivered.push({ ...dup });
    expectFails(twice, 'delivery', /more than once/);

    const phantom = copy();
    phantom.delivered.push({ deviceId: 'lock-1', id: 'nobody:1', category: 'lock-state', at: at(HOUR), expiresAt: at(3 * DAY()), data: { state: 'locked' }, receivedAt: at(HOUR + 1000) });
    expectFails(phantom, 'delivery', /never accepted/);

    const empty = copy();
    empty.accepted = [];
    empty.delivered = [];
    expectFails(empty, 'delivery', /nothing to check/);
  });

  it('preferences: no acknowledgement, a rejection, a late enforcement', () => {
    const missing = copy();
    missing.acks.pop();
    expectFails(missing, 'preferences', /no acknowledgement/);

    const rejected = copy();
    const a = rejected.acks[0];
    if (a) a.accepted = false;
    expectFails(rejected, 'preferences', /change rejected/);

    const late = copy();
    const b = late.acks[0];
    if (b) b.ackedAt = b.requestedAt + 5 * 60_000;
    expectFails(late, 'preferences', /not enforced within the bound/);
  });

  it('hostile: one accepted, one that changed state, results missing', () => {
    const accepted = copy();
    const h = accepted.hostile[0];
    if (h) h.rejected = false;
    expectFails(accepted, 'hostile', /hostile command accepted/);

    const changed = copy();
    const g = changed.hostile[1];
    if (g) g.stateAfter = 'state-v2';
    expectFails(changed, 'hostile', /state changed/);

    const missing = copy();
    missing.hostile = missing.hostile.slice(1);
    expectFails(missing, 'hostile', /no recorded result/);
  });

  it('data rights: an unverifiable receipt, data surviving an erase', () => {
    const receipt = copy();
    const r = receipt.rights[0];
    if (r) r.receiptVerified = false;
    expectFails(receipt, 'data-rights', /no valid signed receipt/);

    const survivor = copy();
    const snap = survivor.stores.find((s) => s.deviceId === 'thermostat-1' && s.takenAt > at(37 * HOUR));
    snap?.records.push({ id: 'old:1', category: 'climate', at: at(2 * HOUR), expiresAt: at(30 * DAY()) });
    expectFails(survivor, 'data-rights', /still stored/);
  });

  it('audit trail: a trail that does not verify, a device without an exported trail', () => {
    const broken = copy();
    const t = broken.auditTrails?.[0];
    if (t) t.ok = false;
    expectFails(broken, 'audit-trail', /does not verify/);

    const missing = copy();
    missing.auditTrails?.pop();
    expectFails(missing, 'audit-trail', /no audit trail exported/);
  });
});

function DAY(): number {
  return 24 * HOUR;
}
