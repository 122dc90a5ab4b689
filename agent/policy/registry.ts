import type { Sensitivity, Setting } from './contract.js';
import type { AggregateOutput, AggregateRule, CategoryDef, FieldDef, MinimiseLevel, Registry, TrackRule } from './registry-types.js';
import { readTransforms } from './registry-transforms.js';
import { Reader } from './validate.js';

export const SETTINGS: readonly Setting[] = ['off', 'local', 'minimised', 'full'];
export const SENSITIVITIES: readonly Sensitivity[] = ['health', 'location', 'presence', 'identity', 'technical'];
const MAX_CATEGORIES = 64;
const MAX_FIELDS = 32;

/** Setting order from narrowest to widest: used for "default wider than allowed" and for narrowing on update. */
export function settingRank(setting: Setting): number {
  return SETTINGS.indexOf(setting);
}

/**
 * Validate a raw registry (from a module, a file or an update) and return a clean copy. Any contradiction (unknown
 * field in a rule, a default the category does not allow, duplicate names, safety data that could be turned off)
 * throws TrustError('INVALID_REGISTRY') naming the place, e.g. `categories[3].minimise[0].fields.bpm: unknown field`.
 */
export function loadRegistry(raw: unknown): Registry {
  const r: Reader = new Reader('INVALID_REGISTRY');
  const top = r.record(raw, 'registry', ['format', 'deviceType', 'version', 'sensors', 'recipients', 'categories']);
  if (top.format !== 1) r.fail('format', 'unsupported registry format (expected 1)');
  const recipientsRaw = r.record(top.recipients, 'recipients');
  const recipients: Record<string, string> = {};
  for (const [id, description] of Object.entries(recipientsRaw)) {
    r.name(id, `recipients.${id}`);
    recipients[id] = r.string(description, `recipients.${id}`);
  }
  const categoriesRaw = r.array(top.categories, 'categories', MAX_CATEGORIES);
  const names = new Set<string>();
  const categories = categoriesRaw.map((item, i) => {
    const category = readCategory(r, item, `categories[${i}]`, recipients);
    if (names.has(category.name)) r.fail(`categories[${i}].name`, 'duplicate category name');
    names.add(category.name);
    return category;
  });
  return {
    format: 1,
    deviceType: r.name(top.deviceType, 'deviceType'),
    version: r.positiveInt(top.version, 'version'),
    sensors: r.strings(top.sensors, 'sensors'),
    recipients,
    categories,
  };
}

const CATEGORY_KEYS = [
  'name', 'description', 'fields', 'sensitivity', 'purposes', 'recipients', 'essential', 'safety',
  'retentionMaxMs', 'settings', 'default', 'minimise', 'stopsWorkingWhenOff',
] as const;

function readCategory(r: Reader, raw: unknown, path: string, recipients: Record<string, string>): CategoryDef {
  const c = r.record(raw, path, CATEGORY_KEYS);
  const fields = readFields(r, c.fields, `${path}.fields`);
  const settings = r.strings(c.settings, `${path}.settings`, 4).map((s, i) => r.oneOf(s, `${path}.settings[${i}]`, SETTINGS));
  const categoryRecipients = r.strings(c.recipients, `${path}.recipients`, 16);
  categoryRecipients.forEach((id, i) => {
    if (!(id in recipients)) r.fail(`${path}.recipients[${i}]`, 'unknown recipient');
  });
  const sensitivity = r.strings(c.sensitivity, `${path}.sensitivity`, 5).map((s, i) => r.oneOf(s, `${path}.sensitivity[${i}]`, SENSITIVITIES));
  if (sensitivity.length === 0) r.fail(`${path}.sensitivity`, 'must name at least one class');
  const minimise = r.array(c.minimise, `${path}.minimise`, 8).map((level, i) => readLevel(r, level, `${path}.minimise[${i}]`, fields));
  const category: CategoryDef = {
    name: r.name(c.name, `${path}.name`),
    description: r.string(c.description, `${path}.description`, 512),
    fields,
    sensitivity,
    purposes: r.strings(c.purposes, `${path}.purposes`),
    recipients: categoryRecipients,
    essential: r.boolean(c.essential, `${path}.essential`),
    safety: r.boolean(c.safety, `${path}.safety`),
    retentionMaxMs: r.positiveInt(c.retentionMaxMs, `${path}.retentionMaxMs`),
    settings,
    default: r.oneOf(c.default, `${path}.default`, SETTINGS),
    minimise,
    stopsWorkingWhenOff: r.strings(c.stopsWorkingWhenOff, `${path}.stopsWorkingWhenOff`),
  };
  checkCategoryConsistency(r, category, path);
  return category;
}

function checkCategoryConsistency(r: Reader, c: CategoryDef, path: string): void {
  if (c.purposes.length === 0) r.fail(`${path}.purposes`, 'must name at least one purpose');
  if (c.settings.length === 0) r.fail(`${path}.settings`, 'must allow at least one setting');
  if (!c.settings.includes(c.default)) r.fail(`${path}.default`, 'default is not among the allowed settings (wider than the maximum)');
  if (c.safety && !c.essential) r.fail(`${path}.safety`, 'safety data must be essential');
  if (c.safety && (c.settings.includes('off') || c.settings.includes('local'))) {
    r.fail(`${path}.settings`, 'safety data can never be turned off or kept local');
  }
  if (!c.essential && !c.settings.includes('off')) r.fail(`${path}.settings`, 'a non-essential category must allow off');
  if (c.settings.includes('minimised') && c.minimise.length === 0) r.fail(`${path}.minimise`, "'minimised' is allowed but no level is defined");
  if (!c.settings.includes('minimised') && c.minimise.length > 0) r.fail(`${path}.minimise`, "levels defined but 'minimised' is not allowed");
  const transmits = c.settings.some((s) => s === 'minimised' || s === 'full');
  if (transmits && c.recipients.length === 0) r.fail(`${path}.recipients`, 'a category that can be sent needs a recipient');
  const levelNames = new Set<string>();
  c.minimise.forEach((level, i) => {
    if (levelNames.has(level.name)) r.fail(`${path}.minimise[${i}].name`, 'duplicate level name');
    levelNames.add(level.name);
  });
}

function readFields(r: Reader, raw: unknown, path: string): Record<string, FieldDef> {
  const record = r.record(raw, path);
  const entries = Object.entries(record);
  if (entries.length === 0) r.fail(path, 'a category needs at least one field');
  if (entries.length > MAX_FIELDS) r.fail(path, `more than ${MAX_FIELDS} fields`);
  const fields: Record<string, FieldDef> = {};
  for (const [name, def] of entries) fields[r.name(name, `${path}.${name}`)] = readField(r, def, `${path}.${name}`);
  return fields;
}

function readField(r: Reader, raw: unknown, path: string): FieldDef {
  const f = r.record(raw, path, ['type', 'description', 'min', 'max', 'maxLength', 'values']);
  const type = r.oneOf(f.type, `${path}.type`, ['number', 'boolean', 'string', 'enum'] as const);
  const description = r.string(f.description, `${path}.description`);
  const only = (keys: string[]): void => {
    for (const key of ['min', 'max', 'maxLength', 'values']) {
      if (f[key] !== undefined && !keys.includes(key)) r.fail(`${path}.${key}`, `not allowed for type ${type}`);
    }
  };
  if (type === 'number') {
    only(['min', 'max']);
    const def: FieldDef = { type, description };
    if (f.min !== undefined) def.min = r.number(f.min, `${path}.min`);
    if (f.max !== undefined) def.max = r.number(f.max, `${path}.max`);
    if (def.min !== undefined && def.max !== undefined && def.min > def.max) r.fail(`${path}.min`, 'greater than max');
    return def;
  }
  if (type === 'boolean') {
    only([]);
    return { type, description };
  }
  if (type === 'string') {
    only(['maxLength']);
    return { type, description, maxLength: r.positiveInt(f.maxLength, `${path}.maxLength`, 1024) };
  }
  only(['values']);
  const values = r.strings(f.values, `${path}.values`);
  if (values.length === 0) r.fail(`${path}.values`, 'an enum needs at least one value');
  return { type, description, values };
}

function readLevel(r: Reader, raw: unknown, path: string, fields: Record<string, FieldDef>): MinimiseLevel {
  const l = r.record(raw, path, ['name', 'description', 'fields', 'truncateTimeMs', 'track', 'aggregate']);
  const level: MinimiseLevel = { name: r.name(l.name, `${path}.name`), description: r.string(l.description, `${path}.description`, 512) };
  if (l.fields !== undefined) {
    const rules = r.record(l.fields, `${path}.fields`);
    level.fields = {};
    for (const [name, chain] of Object.entries(rules)) {
      const def = fields[name];
      if (def === undefined) r.fail(`${path}.fields.${name}`, 'unknown field');
      level.fields[name] = readTransforms(r, chain, `${path}.fields.${name}`, def);
    }
  }
  if (l.truncateTimeMs !== undefined) level.truncateTimeMs = r.positiveInt(l.truncateTimeMs, `${path}.truncateTimeMs`);
  if (l.track !== undefined) level.track = readTrack(r, l.track, `${path}.track`, fields);
  if (l.aggregate !== undefined) {
    if (level.fields !== undefined || level.track !== undefined) r.fail(`${path}.aggregate`, 'aggregate excludes fields and track rules');
    level.aggregate = readAggregate(r, l.aggregate, `${path}.aggregate`, fields);
  }
  return level;
}

function readTrack(r: Reader, raw: unknown, path: string, fields: Record<string, FieldDef>): TrackRule {
  const t = r.record(raw, path, ['lat', 'lon', 'trackId', 'suppressMeters', 'maxGapMs']);
  const fieldOf = (key: 'lat' | 'lon' | 'trackId', type: FieldDef['type']): string => {
    const name = r.string(t[key], `${path}.${key}`, 64);
    const def = fields[name];
    if (def === undefined) r.fail(`${path}.${key}`, 'unknown field');
    if (def.type !== type) r.fail(`${path}.${key}`, `field must be of type ${type}`);
    return name;
  };
  return {
    lat: fieldOf('lat', 'number'),
    lon: fieldOf('lon', 'number'),
    trackId: fieldOf('trackId', 'string'),
    suppressMeters: r.positive(t.suppressMeters, `${path}.suppressMeters`),
    maxGapMs: r.positiveInt(t.maxGapMs, `${path}.maxGapMs`),
  };
}

function readAggregate(r: Reader, raw: unknown, path: string, fields: Record<string, FieldDef>): AggregateRule {
  const a = r.record(raw, path, ['windowMs', 'offsetMs', 'minReadings', 'outputs']);
  const windowMs = r.positiveInt(a.windowMs, `${path}.windowMs`);
  const offsetMs = r.nonNegativeInt(a.offsetMs, `${path}.offsetMs`);
  if (offsetMs >= windowMs) r.fail(`${path}.offsetMs`, 'must be smaller than windowMs');
  const outputsRaw = r.record(a.outputs, `${path}.outputs`);
  const outputs: Record<string, AggregateOutput> = {};
  for (const [name, spec] of Object.entries(outputsRaw)) {
    outputs[r.name(name, `${path}.outputs.${name}`)] = readOutput(r, spec, `${path}.outputs.${name}`, fields);
  }
  if (Object.keys(outputs).length === 0) r.fail(`${path}.outputs`, 'an aggregate needs at least one output');
  return { windowMs, offsetMs, minReadings: r.positiveInt(a.minReadings, `${path}.minReadings`), outputs };
}

function readOutput(r: Reader, raw: unknown, path: string, fields: Record<string, FieldDef>): AggregateOutput {
  const o = r.record(raw, path, ['fn', 'field', 'equals', 'round', 'maxGapMs', 'unitMs']);
  const fn = r.oneOf(o.fn, `${path}.fn`, ['count', 'sum', 'mean', 'min', 'max', 'duration'] as const);
  const fieldName = (): string => {
    const name = r.string(o.field, `${path}.field`, 64);
    if (fields[name] === undefined) r.fail(`${path}.field`, 'unknown field');
    return name;
  };
  if (fn === 'count') {
    if (o.round !== undefined || o.maxGapMs !== undefined || o.unitMs !== undefined) r.fail(path, 'count takes only field and equals');
    if (o.field === undefined) {
      if (o.equals !== undefined) r.fail(`${path}.equals`, 'needs a field');
      return { fn };
    }
    const field = fieldName();
    if (o.equals === undefined) return { fn, field };
    const equals = o.equals;
    if (typeof equals !== 'string' && typeof equals !== 'number' && typeof equals !== 'boolean') r.fail(`${path}.equals`, 'must be a string, number or boolean');
    return { fn, field, equals };
  }
  const field = fieldName();
  if (fn === 'duration') {
    if (o.round !== undefined) r.fail(`${path}.round`, 'not allowed for duration');
    const def = fields[field];
    const equals = r.string(o.equals, `${path}.equals`, 64);
    if (def?.type === 'enum' && !def.values.includes(equals)) r.fail(`${path}.equals`, 'not a value of the field');
    return { fn, field, equals, maxGapMs: r.positiveInt(o.maxGapMs, `${path}.maxGapMs`), unitMs: r.positiveInt(o.unitMs, `${path}.unitMs`) };
  }
  if (fields[field]?.type !== 'number') r.fail(`${path}.field`, `${fn} needs a number field`);
  if (o.equals !== undefined || o.maxGapMs !== undefined || o.unitMs !== undefined) r.fail(path, `${fn} takes only field and round`);
  return o.round === undefined ? { fn, field } : { fn, field, round: r.positive(o.round, `${path}.round`) };
}
