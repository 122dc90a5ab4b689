import { TrustError } from '../agent/errors.js';

/** Flags that take a value; everything else starting with -- is a boolean switch. */
const VALUE_FLAGS = new Set(['broker', 'ca', 'device', 'key-file', 'timeout', 'expected-version', 'patch', 'category', 'user', 'out', 'receipt-out', 'count', 'duration']);
const SWITCHES = new Set(['json', 'insecure', 'help', 'accept-manifest', 'all', 'markdown']);

export interface ParsedArgs {
  action: string | undefined;
  positional: string[];
  flags: Record<string, string>;
  switches: Set<string>;
}

export function parseArgs(argv: string[]): ParsedArgs {
  const parsed: ParsedArgs = { action: undefined, positional: [], flags: {}, switches: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '-h') { parsed.switches.add('help'); continue; }
    if (arg.startsWith('--')) {
      const [name = '', inline] = arg.slice(2).split(/=(.*)/s, 2);
      if (SWITCHES.has(name)) { parsed.switches.add(name); continue; }
      if (!VALUE_FLAGS.has(name)) throw new TrustError('INVALID_ARGUMENT', `unknown option --${name}`);
      const value = inline ?? argv[++i];
      if (value === undefined) throw new TrustError('INVALID_ARGUMENT', `--${name} needs a value`);
      parsed.flags[name] = value;
      continue;
    }
    if (parsed.action === undefined) parsed.action = arg;
    else parsed.positional.push(arg);
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
