// The one argument parser of every trust-agent command line: node:util parseArgs in strict mode, so an option a
// command does not know is refused (naming it) instead of being silently ignored, and `--seed=5` means
// `--seed 5` everywhere.
import { parseArgs } from 'node:util';
import { TrustError } from '../agent/errors.js';

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly multiple?: boolean;
}
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

type ValueOf<S extends OptionSpec> = S['type'] extends 'string'
  ? S['multiple'] extends true ? string[] : string
  : S['multiple'] extends true ? boolean[] : boolean;

export interface ParsedCli<T extends OptionSpecs> {
  values: { [K in keyof T]?: ValueOf<T[K]> };
  positionals: string[];
}

/** `--help` / `-h`, which every command accepts. */
export const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const satisfies OptionSpecs;

/**
 * Parses argv against the options a command knows. Throws TrustError INVALID_ARGUMENT with a message for people:
 * `unknown option --jsno (did you mean --json?)`, `--key needs a value`, `--json takes no value`.
 */
export function parseCli<T extends OptionSpecs>(argv: readonly string[], options: T, limits: { maxPositionals?: number } = {}): ParsedCli<T> {
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options: { ...options }, strict: true, allowPositionals: limits.maxPositionals !== 0 });
  } catch (error) {
    throw new TrustError('INVALID_ARGUMENT', explain(error, Object.keys(options)), { cause: error });
  }
  const max = limits.maxPositionals;
  if (max !== undefined && parsed.positionals.length > max) {
    throw new TrustError('INVALID_ARGUMENT', `unexpected argument '${parsed.positionals[max] ?? ''}'`);
  }
  return parsed as ParsedCli<T>;
}

/** Rewrites node's parseArgs errors (ERR_PARSE_ARGS_*) into one short line that names the option. */
function explain(error: unknown, known: readonly string[]): string {
  const { code, message } = error as { code?: string; message?: string };
  const text = message ?? String(error);
  const option = /'(-{1,2}[^' ]+)/.exec(text)?.[1] ?? '';
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
      const guess = closest(option.replace(/^-+/, ''), known);
      return `unknown option ${option}${guess === undefined ? '' : ` (did you mean --${guess}?)`}`;
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return text.includes('does not take an argument') ? `${option} takes no value` : `${option} needs a value`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${/'([^']*)'/.exec(text)?.[1] ?? ''}`.trim();
    default:
      return text;
  }
}

/** The known option within two edits of a mistyped one, if there is exactly one best candidate. */
function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const d = editDistance(name, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      const swap = a[i - 1] === b[j - 1] ? 0 : 1;
      next.push(Math.min((row[j] ?? 0) + 1, (next[j - 1] ?? 0) + 1, (row[j - 1] ?? 0) + swap));
    }
    row = next;
  }
  return row[b.length] ?? 0;
}
