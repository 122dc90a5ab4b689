import type { JsonPath } from './json-source.js';

/**
 * Validator for the subset of JSON Schema 2020-12 the scenario schema uses (type, enum, const, pattern, minimum,
 * maximum, minLength, minItems, minProperties, required, properties, additionalProperties, items, oneOf with a `type` const
 * discriminator, local $ref). Written here so the simulator needs no schema library.
 */
export interface Schema {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  minItems?: number;
  minProperties?: number;
  required?: string[];
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  items?: Schema;
  oneOf?: Schema[];
  $defs?: Record<string, Schema>;
  [other: string]: unknown;
}

export interface SchemaIssue {
  path: JsonPath;
  message: string;
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function typeMatches(value: unknown, wanted: string): boolean {
  const actual = typeOf(value);
  return actual === wanted || (wanted === 'number' && actual === 'integer');
}

export function validateSchema(root: Schema, value: unknown): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  check(root, root, value, [], issues);
  return issues;
}

function resolve(root: Schema, schema: Schema): Schema {
  if (!schema.$ref) return schema;
  const name = schema.$ref.replace(/^#\/\$defs\//, '');
  const target = root.$defs?.[name];
  if (!target) throw new Error(`schema: unresolved $ref ${schema.$ref}`);
  return resolve(root, target);
}

function check(root: Schema, raw: Schema, value: unknown, path: JsonPath, out: SchemaIssue[]): void {
  const schema = resolve(root, raw);
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.some((t) => typeMatches(value, t))) {
      out.push({ path, message: `must be ${types.join(' or ')}, got ${typeOf(value)}` });
      return;
    }
  }
  if (schema.const !== undefined && value !== schema.const) out.push({ path, message: `must be ${JSON.stringify(schema.const)}` });
  if (schema.enum && !schema.enum.includes(value)) {
    out.push({ path, message: `must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}` });
  }
  if (typeof value === 'string') checkString(schema, value, path, out);
  if (typeof value === 'number') checkNumber(schema, value, path, out);
  if (Array.isArray(value)) checkArray(root, schema, value, path, out);
  else if (typeOf(value) === 'object') checkObject(root, schema, value as Record<string, unknown>, path, out);
  if (schema.oneOf) checkOneOf(root, schema.oneOf, value, path, out);
}

function checkString(schema: Schema, value: string, path: JsonPath, out: SchemaIssue[]): void {
  if (schema.minLength !== undefined && value.length < schema.minLength) out.push({ path, message: `must have at least ${schema.minLength} characters` });
  if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) {
    const hint = typeof schema.description === 'string' ? ` (${schema.description})` : '';
    out.push({ path, message: `${JSON.stringify(value)} does not match ${schema.pattern}${hint}` });
  }
}

function checkNumber(schema: Schema, value: number, path: JsonPath, out: SchemaIssue[]): void {
  if (schema.minimum !== undefined && value < schema.minimum) out.push({ path, message: `must be >= ${schema.minimum}` });
  if (schema.maximum !== undefined && value > schema.maximum) out.push({ path, message: `must be <= ${schema.maximum}` });
}

function checkArray(root: Schema, schema: Schema, value: unknown[], path: JsonPath, out: SchemaIssue[]): void {
  if (schema.minItems !== undefined && value.length < schema.minItems) out.push({ path, message: `must have at least ${schema.minItems} item(s)` });
  if (schema.items) value.forEach((item, i) => check(root, schema.items as Schema, item, [...path, i], out));
}

function checkObject(root: Schema, schema: Schema, value: Record<string, unknown>, path: JsonPath, out: SchemaIssue[]): void {
  if (schema.minProperties !== undefined && Object.keys(value).length < schema.minProperties) {
    out.push({ path, message: `must have at least ${schema.minProperties} propert${schema.minProperties === 1 ? 'y' : 'ies'}` });
  }
  for (const key of schema.required ?? []) {
    if (!Object.hasOwn(value, key)) out.push({ path, message: `missing required property "${key}"` });
  }
  for (const [key, item] of Object.entries(value)) {
    const sub = schema.properties?.[key];
    if (sub) check(root, sub, item, [...path, key], out);
    else if (schema.additionalProperties === false) out.push({ path: [...path, key], message: `unknown property "${key}"` });
    else if (typeof schema.additionalProperties === 'object') check(root, schema.additionalProperties, item, [...path, key], out);
  }
}

/** oneOf over object variants tagged by a `type` const: report the errors of the variant the value names. */
function checkOneOf(root: Schema, variants: Schema[], value: unknown, path: JsonPath, out: SchemaIssue[]): void {
  const resolved = variants.map((v) => resolve(root, v));
  const tag = typeOf(value) === 'object' ? (value as Record<string, unknown>).type : undefined;
  const tags = resolved.map((v) => v.properties?.type?.const).filter((t): t is string => typeof t === 'string');
  if (tags.length === resolved.length) {
    const chosen = resolved.find((v) => v.properties?.type?.const === tag);
    if (!chosen) {
      out.push({ path: [...path, 'type'], message: `must be one of ${tags.map((t) => JSON.stringify(t)).join(', ')}` });
      return;
    }
    check(root, chosen, value, path, out);
    return;
  }
  const results = resolved.map((v) => {
    const found: SchemaIssue[] = [];
    check(root, v, value, path, found);
    return found;
  });
  const passing = results.filter((r) => r.length === 0).length;
  if (passing !== 1) {
    // The most helpful report comes from the alternative of the right type with the fewest complaints.
    const score = (r: SchemaIssue[]): number => r.length + (r.some((i) => i.path.length === path.length && i.message.includes(', got ')) ? 100 : 0);
    const best = results.reduce((a, b) => (score(b) < score(a) ? b : a));
    if (passing === 0 && best.length > 0) out.push(...best);
    else out.push({ path, message: `must match exactly one alternative, matched ${passing}` });
  }
}
