import { TrustError } from '../agent/errors.js';
import { HELP_OPTION, parseCli, type OptionSpecs } from '../cli/args.js';

/** Options that take a value, and switches; anything else is refused by the strict parser. */
const VALUE_FLAGS = ['broker', 'ca', 'device', 'key-file', 'timeout', 'expected-version', 'patch', 'category', 'user', 'out', 'receipt-out', 'count', 'duration', 'port', 'host'] as const;
const SWITCHES = ['json', 'insecure', 'accept-manifest', 'all', 'markdown', 'yes'] as const;

const COMPANION_OPTIONS: OptionSpecs = Object.fromEntries([
  ...VALUE_FLAGS.map((name) => [name, { type: 'string' }] as const),
  ...SWITCHES.map((name) => [name, { type: 'boolean' }] as const),
  ...Object.entries(HELP_OPTION),
]);

export interface ParsedArgs {
  action: string | undefined;
  positional: string[];
  flags: Record<string, string>;
  switches: Set<string>;
}

export function parseArgs(argv: string[]): ParsedArgs {
  const { values, positionals } = parseCli(argv, COMPANION_OPTIONS);
  const parsed: ParsedArgs = { action: positionals[0], positional: positionals.slice(1), flags: {}, switches: new Set() };
  for (const [name, value] of Object.entries(values)) {
    if (typeof value === 'string') parsed.flags[name] = value;
    else if (value === true) parsed.switches.add(name);
  }
  return parsed;
}

/**
 * `set` arguments into the policy engine's patch shape:
 * `occupancy=full` sets the setting, `occupancy.level=hourly`, `occupancy.recipients=cloud,app`,
 * `occupancy.retentionMs=3600000` (or `null` for the maximum). `--patch JSON` gives the patch verbatim.
 */
export function patchFromArgs(assignments: string[], patchJson: string | undefined, acceptManifest: boolean): Record<string, unknown> {
  const patch: Record<string, unknown> = patchJson === undefined ? {} : parseJsonPatch(patchJson);
  const categories = (patch['categories'] ?? {}) as Record<string, Record<string, unknown>>;
  for (const assignment of assignments) {
    const match = /^([A-Za-z0-9_-]+)(?:\.(setting|level|recipients|retentionMs))?=(.*)$/.exec(assignment);
    if (match === null) throw new TrustError('INVALID_ARGUMENT', `cannot read '${assignment}': use category=setting or category.level=value`);
    const [, name = '', key = 'setting', value = ''] = match;
    const entry = (categories[name] ??= {});
    if (key === 'recipients') entry[key] = value === '' ? [] : value.split(',');
    else if (key === 'retentionMs') entry[key] = value === 'null' ? null : Number(value);
    else entry[key] = value;
  }
  if (Object.keys(categories).length > 0) patch['categories'] = categories;
  if (acceptManifest) patch['manifestReviewed'] = true;
  if (Object.keys(patch).length === 0) throw new TrustError('INVALID_ARGUMENT', 'nothing to set: give category=setting, --patch JSON or --accept-manifest');
  return patch;
}

function parseJsonPatch(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object');
    return value as Record<string, unknown>;
  } catch (cause) {
    throw new TrustError('INVALID_ARGUMENT', '--patch must be a JSON object', { cause });
  }
}
