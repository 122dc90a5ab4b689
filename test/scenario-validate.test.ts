import { describe, expect, it } from 'vitest';
import { validateSchema } from '../simulator/scenario/validate.js';
import { SCENARIO_SCHEMA } from '../simulator/scenario/schema.js';

/** The scenario validator is Ajv (JSON Schema 2020-12, strict), with the simulator's own messages at a path. */
describe('scenario schema validation (Ajv)', () => {
  it('refuses a schema keyword it does not know instead of ignoring it', () => {
    expect(() => validateSchema({ type: 'object', properties: { n: { type: 'integer', minimun: 3 } } }, { n: 1 })).toThrow(/unknown keyword/);
  });

  it('enforces keywords the old hand-written validator ignored', () => {
    const schema = { type: 'object', properties: { tags: { type: 'array', uniqueItems: true, maxItems: 2 } } };
    expect(validateSchema(schema, { tags: ['a', 'a', 'b'] }).map((i) => i.path)).toEqual([['tags'], ['tags']]);
  });

  it('speaks the simulator\'s messages, at the value\'s path', () => {
    const base = { name: 'x', seed: 1, duration: '1h', fleet: [{ type: 'thermostat', count: 1 }] };
    const issues = (value: unknown) => validateSchema(SCENARIO_SCHEMA, value).map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(issues({ ...base, speed: 'fast' })).toEqual(['speed: must be one of "virtual", "realtime"']);
    expect(issues({ ...base, seed: -1 })).toEqual(['seed: must be >= 0']);
    expect(issues({ ...base, fleet: [] })).toEqual(['fleet: must have at least 1 item(s)']);
    expect(issues({ ...base, events: [{ at: '1h', type: 'preference', device: 'thermostat-1', patch: { climate: 'loud' } }] }))
      .toEqual(['events.0.patch.climate: must be one of "off", "local", "minimised", "full"']);
  });
});
