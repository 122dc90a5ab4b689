import { toHex } from '../agent/crypto/keys.js';

/** Human-readable rendering of signed documents; `--json` output uses `toJsonable` instead. */
export function toJsonable(value: unknown): unknown {
  if (value instanceof Uint8Array) return toHex(value);
  if (Array.isArray(value)) return value.map(toJsonable);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJsonable(v)]));
  }
  return value;
}

/** Indented `key: value` lines; nested maps indent further. Bytes as hex, times as ISO when the key says so. */
export function describe(value: unknown, indent = ''): string {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return `${indent}${scalar('', value)}\n`;
  let out = '';
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  for (const [key, child] of entries) {
    if (child !== null && typeof child === 'object' && !(child instanceof Uint8Array)) {
      if (Array.isArray(child) && child.every((c) => c === null || typeof c !== 'object')) {
        out += `${indent}${key}: ${child.length === 0 ? '(none)' : child.join(', ')}\n`;
      } else {
        out += `${indent}${key}:\n${describe(child, `${indent}  `)}`;
      }
    } else {
      out += `${indent}${key}: ${scalar(key, child)}\n`;
    }
  }
  return out;
}

function scalar(key: string, value: unknown): string {
  if (value instanceof Uint8Array) return value.length > 32 ? `<${value.length} bytes>` : toHex(value);
  if (typeof value === 'number' && /(At|^at|Time)$/.test(key) && value > 1e12) return new Date(value).toISOString();
  if (typeof value === 'number' && /Ms$/.test(key)) return humanMs(value);
  return String(value);
}

function humanMs(ms: number): string {
  const units: Array<[number, string]> = [[86_400_000, 'd'], [3_600_000, 'h'], [60_000, 'min'], [1_000, 's']];
  for (const [size, unit] of units) if (ms >= size && ms % size === 0) return `${ms / size} ${unit}`;
  return `${ms} ms`;
}

/** A short label from a manifest whose exact shape belongs to the policy module: read defensively. */
export function manifestSummary(manifest: unknown): string {
  const m = (manifest ?? {}) as { deviceType?: unknown; categories?: unknown };
  let out = `Privacy label${typeof m.deviceType === 'string' ? ` for ${m.deviceType}` : ''}\n`;
  const categories = Array.isArray(m.categories) ? m.categories : [];
  if (categories.length === 0) return out + describe(manifest, '  ');
  for (const c of categories as Array<Record<string, unknown>>) {
    const name = String(c['name'] ?? c['category'] ?? '?');
    const setting = c['setting'] ?? c['currentSetting'] ?? '';
    out += `  ${name}${setting === '' ? '' : ` [${String(setting)}]`}\n`;
    for (const key of ['sensitivity', 'purposes', 'recipients', 'retentionMaxMs', 'essential', 'optOutConsequences']) {
      if (c[key] !== undefined) out += `    ${key}: ${Array.isArray(c[key]) ? (c[key] as unknown[]).join(', ') : scalar(key, c[key])}\n`;
    }
  }
  return out;
}
