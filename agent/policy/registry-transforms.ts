import type { FieldDef, FieldTransform } from './registry-types.js';
import type { Reader } from './validate.js';

/**
 * Validate one field's transform chain against the field's type. Chains compose left to right; a transform that
 * changes the type (classify, pseudonymise: string out) must come last, and drop must stand alone.
 */
export function readTransforms(r: Reader, raw: unknown, path: string, def: FieldDef): FieldTransform[] {
  const items = r.array(raw, path, 8);
  if (items.length === 0) r.fail(path, 'an empty chain changes nothing; leave the field out instead');
  const chain = items.map((item, i) => readTransform(r, item, `${path}[${i}]`, def));
  chain.forEach((t, i) => {
    if (t.op === 'drop' && chain.length > 1) r.fail(`${path}[${i}]`, 'drop must stand alone');
    if ((t.op === 'classify' || t.op === 'pseudonymise') && i !== chain.length - 1) r.fail(`${path}[${i}]`, `${t.op} must come last`);
  });
  return chain;
}

function readTransform(r: Reader, raw: unknown, path: string, def: FieldDef): FieldTransform {
  const t = r.record(raw, path, ['op', 'step', 'size', 'cell', 'classes', 'epochMs']);
  const op = r.oneOf(t.op, `${path}.op`, ['drop', 'round', 'bucket', 'grid', 'classify', 'pseudonymise'] as const);
  const expectKeys = (keys: string[]): void => {
    for (const key of Object.keys(t)) if (key !== 'op' && !keys.includes(key)) r.fail(`${path}.${key}`, `not used by ${op}`);
  };
  const needType = (types: FieldDef['type'][]): void => {
    if (!types.includes(def.type)) r.fail(`${path}.op`, `${op} does not apply to a ${def.type} field`);
  };
  switch (op) {
    case 'drop':
      expectKeys([]);
      return { op };
    case 'round':
      expectKeys(['step']);
      needType(['number']);
      return { op, step: r.positive(t.step, `${path}.step`) };
    case 'bucket':
      expectKeys(['size']);
      needType(['number']);
      return { op, size: r.positive(t.size, `${path}.size`) };
    case 'grid':
      expectKeys(['cell']);
      needType(['number']);
      return { op, cell: r.positive(t.cell, `${path}.cell`) };
    case 'classify':
      expectKeys(['classes']);
      needType(['enum', 'string']);
      return { op, classes: readClasses(r, t.classes, `${path}.classes`, def) };
    case 'pseudonymise':
      expectKeys(['epochMs']);
      needType(['string']);
      return { op, epochMs: r.positiveInt(t.epochMs, `${path}.epochMs`) };
  }
}

function readClasses(r: Reader, raw: unknown, path: string, def: FieldDef): Record<string, string> {
  const record = r.record(raw, path);
  const classes: Record<string, string> = {};
  for (const [value, cls] of Object.entries(record)) {
    if (def.type === 'enum' && !def.values.includes(value)) r.fail(`${path}.${value}`, 'not a value of the field');
    classes[value] = r.string(cls, `${path}.${value}`, 64);
  }
  // An unmapped value would have to pass through raw, which defeats the point of classifying.
  if (def.type === 'enum') {
    for (const value of def.values) if (!(value in classes)) r.fail(`${path}.${value}`, 'enum value not mapped');
  }
  return classes;
}
