import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TrustError } from '../../agent/errors.js';

/** A scenario of the shipped library: its name (`default`, `scale/fleet-30d`) and file. */
export interface LibraryEntry {
  name: string;
  path: string;
}

/** The shipped scenario folder, found above the sources or above the bundle's chunk (dist/cli/*.js in the package). */
export function libraryDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [resolve(here, '..', '..'), resolve(here, '..'), resolve(here, '..', '..', '..')].map((root) => join(root, 'simulator', 'scenarios'));
  return candidates.find((dir) => existsSync(join(dir, 'default.json'))) ?? (candidates[0] as string);
}

/** Every scenario of the library, by name, sorted (top-level first, then sub-folders such as `scale/`). */
export function listLibrary(dir = libraryDir()): LibraryEntry[] {
  const entries: LibraryEntry[] = [];
  const walk = (folder: string): void => {
    if (!existsSync(folder)) return;
    for (const item of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, item.name);
      if (item.isDirectory()) walk(path);
      else if (item.name.endsWith('.json')) entries.push({ name: relative(dir, path).split(sep).join('/').replace(/\.json$/, ''), path });
    }
  };
  walk(dir);
  const depth = (name: string): number => name.split('/').length;
  return entries.sort((a, b) => depth(a.name) - depth(b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The file a `simulate` argument names: nothing is the default scenario; a library name (`data-rights`, or
 * `fleet-30d` for `scale/fleet-30d` when unique) is that scenario; anything else is a path to a scenario file.
 * Throws INVALID_ARGUMENT naming the library when neither fits, instead of a raw ENOENT.
 */
export function resolveScenario(arg: string | undefined, dir = libraryDir()): string {
  const library = listLibrary(dir);
  const wanted = arg ?? 'default';
  const exact = library.find((e) => e.name === wanted);
  if (exact !== undefined) return exact.path;
  const byBase = library.filter((e) => e.name.split('/').pop() === wanted);
  if (byBase.length === 1 && byBase[0] !== undefined) return byBase[0].path;
  if (arg !== undefined && existsSync(arg)) return arg;
  const names = library.map((e) => e.name).join(', ');
  const looksLikePath = wanted.endsWith('.json') || wanted.includes('/') || wanted.includes(sep);
  throw new TrustError('INVALID_ARGUMENT', looksLikePath
    ? `no scenario file ${wanted} (the library has: ${names})`
    : `no scenario named '${wanted}' (the library has: ${names}; or give the path of a scenario .json file)`);
}

/** One line per library scenario: name, duration, fleet size, events, and the first sentence of its description. */
export function describeLibrary(dir = libraryDir()): string[] {
  const rows = listLibrary(dir).map((e) => {
    try {
      const raw = JSON.parse(readFileSync(e.path, 'utf8')) as { duration?: unknown; fleet?: Array<{ count?: unknown }>; events?: unknown[]; description?: unknown };
      const devices = (raw.fleet ?? []).reduce((n, f) => n + (typeof f.count === 'number' ? f.count : 0), 0);
      const text = typeof raw.description === 'string' ? (/^[^.]*\.?/.exec(raw.description)?.[0] ?? '') : '';
      return { name: e.name, facts: `${String(raw.duration ?? '?')}, ${devices} devices, ${(raw.events ?? []).length} events`, text };
    } catch {
      return { name: e.name, facts: 'unreadable', text: '' };
    }
  });
  const width = Math.max(0, ...rows.map((r) => r.name.length));
  const factsWidth = Math.max(0, ...rows.map((r) => r.facts.length));
  return rows.map((r) => `${r.name.padEnd(width)}  ${r.facts.padEnd(factsWidth)}  ${r.text}`.trimEnd());
}
