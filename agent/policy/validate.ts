import { TrustError, type TrustErrorCode } from '../errors.js';

/**
 * Small readers for untrusted structured input (registries, preference patches). Each names the exact place that
 * is wrong (`categories[3].fields.bpm.type`), never the value, so messages are safe to log and to send back.
 */
export class Reader {
  constructor(readonly code: TrustErrorCode) {}

  fail(path: string, problem: string): never {
    throw new TrustError(this.code, `${path}: ${problem}`);
  }

  record(value: unknown, path: string, allowed?: readonly string[]): Record<string, unknown> {
    if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) {
      this.fail(path, 'must be a map');
    }
    const record = value as Record<string, unknown>;
    if (allowed !== undefined) {
      for (const key of Object.keys(record)) {
        if (!allowed.includes(key)) this.fail(joinPath(path, key), 'unknown key');
      }
    }
    return record;
  }

  array(value: unknown, path: string, maxLength = 256): unknown[] {
    if (!Array.isArray(value)) this.fail(path, 'must be an array');
    if (value.length > maxLength) this.fail(path, `more than ${maxLength} entries`);
    return value;
  }

  string(value: unknown, path: string, maxLength = 256): string {
    if (typeof value !== 'string' || value.length === 0 || value.length > maxLength) {
      this.fail(path, `must be a non-empty string of at most ${maxLength} characters`);
    }
    return value;
  }

  name(value: unknown, path: string): string {
    const text = this.string(value, path, 64);
    if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(text)) this.fail(path, 'must be a name of letters, digits, - and _');
    return text;
  }

  strings(value: unknown, path: string, maxLength = 64): string[] {
    const items = this.array(value, path, maxLength).map((item, i) => this.string(item, `${path}[${i}]`));
    const seen = new Set<string>();
    items.forEach((item, i) => {
      if (seen.has(item)) this.fail(`${path}[${i}]`, 'duplicate');
      seen.add(item);
    });
    return items;
  }

  oneOf<T extends string>(value: unknown, path: string, options: readonly T[]): T {
    if (typeof value !== 'string' || !(options as readonly string[]).includes(value)) {
      this.fail(path, `must be one of ${options.join(', ')}`);
    }
    return value as T;
  }

  boolean(value: unknown, path: string): boolean {
    if (typeof value !== 'boolean') this.fail(path, 'must be a boolean');
    return value;
  }

  number(value: unknown, path: string): number {
    if (typeof value !== 'number' || !Number.isFinite(value)) this.fail(path, 'must be a finite number');
    return value;
  }

  positive(value: unknown, path: string): number {
    const n = this.number(value, path);
    if (n <= 0) this.fail(path, 'must be greater than 0');
    return n;
  }

  /** A positive integer number of milliseconds (or any positive integer count). */
  positiveInt(value: unknown, path: string, max = Number.MAX_SAFE_INTEGER): number {
    const n = this.number(value, path);
    if (!Number.isSafeInteger(n) || n <= 0 || n > max) this.fail(path, `must be an integer in 1..${max}`);
    return n;
  }

  nonNegativeInt(value: unknown, path: string): number {
    const n = this.number(value, path);
    if (!Number.isSafeInteger(n) || n < 0) this.fail(path, 'must be a non-negative integer');
    return n;
  }
}

export function joinPath(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}
