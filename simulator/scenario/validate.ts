import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import type { JsonPath } from './json-source.js';

/**
 * Scenario validation with Ajv (JSON Schema 2020-12, strict mode: a keyword the schema uses that Ajv does not know is
 * an error when the schema compiles, never silently ignored). Ajv's errors are turned into the simulator's own
 * messages at a JSON path, so the loader can report `file:line: path: message`.
 */
export type Schema = Record<string, unknown>;

export interface SchemaIssue {
  path: JsonPath;
  message: string;
}

const compiled = new WeakMap<Schema, ReturnType<Ajv2020['compile']>>();

function validator(schema: Schema): ReturnType<Ajv2020['compile']> {
  let validate = compiled.get(schema);
  if (validate === undefined) {
    // verbose: each error carries its schema (pattern descriptions, oneOf variants); strict: unknown keywords throw.
    const ajv = new Ajv2020({ allErrors: true, verbose: true, strict: true });
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  return validate;
}

export function validateSchema(schema: Schema, value: unknown): SchemaIssue[] {
  const validate = validator(schema);
  if (validate(value)) return [];
  return explain(validate.errors ?? [], value, schema);
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** JSON pointer (/events/0/type) to a path (['events', 0, 'type']), using the data to tell indexes from keys. */
function pathOf(pointer: string, data: unknown): JsonPath {
  const path: JsonPath = [];
  let at = data;
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const key = Array.isArray(at) ? Number(part) : part;
    path.push(key);
    at = (at as Record<string | number, unknown> | undefined)?.[key];
  }
  return path;
}

function valueAt(path: JsonPath, data: unknown): unknown {
  return path.reduce<unknown>((at, key) => (at as Record<string | number, unknown> | undefined)?.[key], data);
}

/**
 * oneOf errors: Ajv reports every variant's complaints, and inside a $ref its schema paths cannot tell the variants
 * apart. So the value under a failing oneOf is validated again against the one variant it names by its `type` const
 * (or, untagged, the variant with the fewest complaints), and only that report is kept. (A oneOf in the scenario schema
 * has no sibling keywords, so nothing else is reported at its place.)
 */
function explain(errors: ErrorObject[], data: unknown, root: Schema): SchemaIssue[] {
  const top = errors.filter((e) => e.keyword === 'oneOf').sort((a, b) => a.instancePath.length - b.instancePath.length)[0];
  if (top === undefined) return dedupe(errors.map((e) => issue(e, data)));
  const at = top.instancePath;
  const rest = errors.filter((e) => e.instancePath !== at && !e.instancePath.startsWith(`${at}/`));
  const base = pathOf(at, data);
  const chosen = oneOfIssues(top.schema as Schema[], valueAt(base, data), root).map((i) => ({ path: [...base, ...i.path], message: i.message }));
  return dedupe([...explain(rest, data, root), ...chosen]);
}

function oneOfIssues(raw: Schema[], value: unknown, root: Schema): SchemaIssue[] {
  const variants = raw.map((v) => resolve(v, root));
  const tags = variants.map((v) => (v['properties'] as Record<string, Schema> | undefined)?.['type']?.['const']);
  const against = (i: number): SchemaIssue[] => validateSchema(variantSchema(raw[i] as Schema, root), value);
  if (tags.every((t) => typeof t === 'string')) {
    const tag = typeOf(value) === 'object' ? (value as Record<string, unknown>)['type'] : undefined;
    const index = tags.indexOf(tag as string);
    return index < 0 ? [{ path: ['type'], message: `must be one of ${tags.map((t) => JSON.stringify(t)).join(', ')}` }] : against(index);
  }
  const reports = raw.map((_, i) => against(i));
  if (reports.some((r) => r.length === 0)) return [{ path: [], message: 'must match exactly one alternative' }];
  // The most helpful report comes from the alternative of the right type with the fewest complaints.
  const score = (r: SchemaIssue[]): number => r.length + (r.some((i) => i.path.length === 0 && i.message.includes(', got ')) ? 100 : 0);
  return reports.reduce((a, b) => (score(b) < score(a) ? b : a));
}

const variantSchemas = new WeakMap<Schema, Schema>();

/** One variant as a schema of its own, with the root's definitions so its $refs resolve (compiled once). */
function variantSchema(variant: Schema, root: Schema): Schema {
  let schema = variantSchemas.get(variant);
  if (schema === undefined) {
    schema = root['$defs'] === undefined ? { ...variant } : { $defs: root['$defs'], ...variant };
    variantSchemas.set(variant, schema);
  }
  return schema;
}

function resolve(variant: Schema, root: Schema): Schema {
  const ref = variant['$ref'];
  if (typeof ref !== 'string') return variant;
  const name = ref.replace(/^#\/\$defs\//, '');
  return ((root['$defs'] as Record<string, Schema> | undefined)?.[name]) ?? variant;
}

function issue(e: ErrorObject, data: unknown): SchemaIssue {
  const path = pathOf(e.instancePath, data);
  const p = e.params as Record<string, unknown>;
  const value = valueAt(path, data);
  switch (e.keyword) {
    case 'type': return { path, message: `must be ${String(p['type']).split(',').join(' or ')}, got ${typeOf(value)}` };
    case 'enum': return { path, message: `must be one of ${(p['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` };
    case 'const': return { path, message: `must be ${JSON.stringify(p['allowedValue'])}` };
    case 'pattern': {
      const description = (e.parentSchema as Schema | undefined)?.['description'];
      return { path, message: `${JSON.stringify(value)} does not match ${String(p['pattern'])}${typeof description === 'string' ? ` (${description})` : ''}` };
    }
    case 'minimum': case 'maximum': return { path, message: `must be ${String(p['comparison'])} ${String(p['limit'])}` };
    case 'minLength': return { path, message: `must have at least ${String(p['limit'])} characters` };
    case 'minItems': return { path, message: `must have at least ${String(p['limit'])} item(s)` };
    case 'minProperties': return { path, message: `must have at least ${String(p['limit'])} propert${p['limit'] === 1 ? 'y' : 'ies'}` };
    case 'required': return { path, message: `missing required property "${String(p['missingProperty'])}"` };
    case 'dependentRequired': return { path, message: `"${String(p['property'])}" needs "${String(p['missingProperty'])}" as well` };
    case 'additionalProperties': return { path: [...path, String(p['additionalProperty'])], message: `unknown property "${String(p['additionalProperty'])}"` };
    default: return { path, message: e.message ?? `fails ${e.keyword}` };
  }
}

function dedupe(issues: SchemaIssue[]): SchemaIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${JSON.stringify(i.path)} ${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
