import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadScenarioFile } from '../simulator/scenario/loader.js';
import type { Scenario } from '../simulator/scenario/types.js';
import { checkVerdicts, rulesOf, type Evidence } from '../simulator/verdicts/index.js';
import { referenceEvidence } from '../simulator/verdicts/reference.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * The data model agreed in docs/requirements.md ("Data models"), written down here independently of the registries:
 * [default, maximum retention, minimisation window, safety]. The verdicts derive their rules from the registries
 * (the one source of truth the agent runs), so this is where a registry that drifted from the agreement is caught.
 */
const AGREED: Record<string, Record<string, [string, number, number, boolean]>> = {
  thermostat: {
    climate: ['minimised', 30 * DAY, 0, false], hvac: ['full', 30 * DAY, 0, false], comfort: ['off', 7 * DAY, 15 * MINUTE, false],
    occupancy: ['off', 7 * DAY, HOUR, false], labels: ['off', 7 * DAY, 0, false],
  },
  'smart-lock': {
    'lock-state': ['full', 30 * DAY, 0, false], 'safety-alert': ['full', 30 * DAY, 0, true], battery: ['minimised', 30 * DAY, 0, false],
    door: ['off', 7 * DAY, 15 * MINUTE, false], access: ['minimised', 7 * DAY, 15 * MINUTE, false],
  },
  'fitness-tracker': {
    'heart-rate': ['off', 30 * DAY, MINUTE, false], spo2: ['off', 30 * DAY, 0, false], sleep: ['off', 30 * DAY, DAY, false],
    activity: ['off', 30 * DAY, HOUR, false], location: ['off', DAY, 0, false], battery: ['minimised', 30 * DAY, 0, false],
  },
};

describe('the rules the verdicts derive from a registry', () => {
  for (const [type, categories] of Object.entries(AGREED)) {
    it(`${type}: the shipped registry gives the agreed defaults, retention maxima, windows and safety`, () => {
      const derived = Object.entries(rulesOf({ type })).map(([name, r]) => [name, [r.default, r.maxRetentionMs, r.windowMs, r.safety]]);
      expect(Object.fromEntries(derived)).toEqual(categories);
    });
  }
});

describe("verdicts of a custom device type come from its registry (the smart plug's)", () => {
  let scenario: Scenario;
  let clean: Evidence;
  beforeAll(async () => {
    scenario = await loadScenarioFile(fileURLToPath(new URL('../examples/smart-plug/scenario.json', import.meta.url)));
    clean = referenceEvidence(scenario, { snapshotEveryMs: 4 * HOUR });
  });
  const plugRecord = (e: Evidence, category: string, from: number) => {
    const r = e.delivered.find((d) => d.deviceId === 'plug-1' && d.category === category && d.at >= scenario.startMs + from);
    if (!r) throw new Error(`no ${category} record`);
    return r;
  };
  const fails = (e: Evidence, id: string, why: RegExp): void => {
    const v = checkVerdicts(e).find((x) => x.id === id);
    expect({ why: String(why), pass: v?.pass }).toEqual({ why: String(why), pass: false });
    expect(JSON.stringify(v?.firstOffending)).toMatch(why);
  };

  it('an ideal agent passes every verdict on the plug scenario', () => {
    const verdicts = checkVerdicts(clean);
    for (const v of verdicts) expect(v.pass, `${v.id}: ${v.summary}`).toBe(true);
    expect(rulesOf(scenario.devices[0] ?? { type: '' }).power).toEqual({ default: 'minimised', safety: false, maxRetentionMs: 7 * DAY, windowMs: 15 * MINUTE });
  });

  it("minimisation: the level's bucket, dropped field, truncated time and aggregate outputs", () => {
    const cases: Array<[(e: Evidence) => void, RegExp]> = [
      [(e) => { plugRecord(e, 'power', 0).data.watts = 1234; }, /watts not bucketed to 100/],
      [(e) => { plugRecord(e, 'power', 0).data.appliance = 'kettle'; }, /field appliance sent though the level drops it/],
      [(e) => { plugRecord(e, 'power', 0).at += 2 * MINUTE; }, /timestamp not truncated to 15 min \(level coarse\)/],
      [(e) => { plugRecord(e, 'occupancy', 4 * HOUR).data = { occupied: true }; }, /field occupied sent instead of the hourly aggregate/],
    ];
    for (const [mutate, why] of cases) {
      const e = structuredClone(clean);
      mutate(e);
      fails(e, 'minimisation', why);
    }
  });

  it("withdrawal and retention: occupancy before the opt-in (off by the registry's default), power kept past the registry's 7 days", () => {
    const early = structuredClone(clean);
    const r = plugRecord(early, 'occupancy', 2 * HOUR);
    early.delivered.push({ ...r, id: 'x:1', at: scenario.startMs + 30 * MINUTE, receivedAt: scenario.startMs + 30 * MINUTE + 1000 });
    fails(early, 'withdrawal', /taken while the category was off/);

    const long = structuredClone(clean);
    const p = plugRecord(long, 'power', 0);
    p.expiresAt = p.at + 8 * DAY;
    fails(long, 'retention', /beyond the allowed retention/);
  });
});
