import type { FieldTransform } from './registry-types.js';
import type { Pseudonymiser } from './pseudonym.js';

/** A compiled transform chain for one field: value and reading time in, minimised value out. */
export type FieldFn = (value: unknown, at: number) => unknown;

export function roundTo(value: number, step: number): number {
  return snap(Math.round(value / step) * step, decimalsOf(step));
}

/**
 * Decimal places of a step like 0.5 or 0.01 (capped). Outputs are snapped to them to strip binary floating-point
 * noise (0.1 * 3 = 0.30000000000000004), so values look like what the rule says.
 */
export function decimalsOf(step: number): number {
  let decimals = 0;
  while (decimals < 10 && Math.abs(step * 10 ** decimals - Math.round(step * 10 ** decimals)) > 1e-9) decimals += 1;
  return decimals;
}

function snap(value: number, decimals: number): number {
  if (decimals === 0) return Math.round(value);
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}

/** Index of the bucket/cell holding `value`, robust against division noise at cell edges. */
export function cellIndex(value: number, size: number): number {
  let k = Math.floor(value / size);
  if ((k + 1) * size <= value) k += 1;
  else if (k * size > value) k -= 1;
  return k;
}

export function bucketOf(value: number, size: number): number {
  return snap(cellIndex(value, size) * size, decimalsOf(size));
}

/**
 * Compile a field's transform chain into one function. Returns undefined for "drop" (the field never reaches the
 * output object) and null for an empty chain (identity, no call on the hot path).
 */
export function compileChain(chain: FieldTransform[] | undefined, scope: string, pseudonymiser: Pseudonymiser): FieldFn | null | undefined {
  if (chain === undefined || chain.length === 0) return null;
  if (chain.some((t) => t.op === 'drop')) return undefined;
  const steps = chain.map((t) => compileStep(t, scope, pseudonymiser));
  if (steps.length === 1) return steps[0];
  return (value, at) => {
    let out = value;
    for (const step of steps) out = step(out, at);
    return out;
  };
}

function compileStep(t: FieldTransform, scope: string, pseudonymiser: Pseudonymiser): FieldFn {
  switch (t.op) {
    case 'round': {
      const decimals = decimalsOf(t.step);
      return (v) => snap(Math.round((v as number) / t.step) * t.step, decimals);
    }
    case 'bucket':
    case 'grid': {
      const size = t.op === 'bucket' ? t.size : t.cell;
      const decimals = decimalsOf(size);
      return (v) => snap(cellIndex(v as number, size) * size, decimals);
    }
    case 'classify':
      // Unmapped free-text values become 'other': a raw value must never slip through a classifier.
      return (v) => t.classes[v as string] ?? 'other';
    case 'pseudonymise':
      return (v, at) => pseudonymiser.token(scope, v as string, at, t.epochMs);
    case 'drop':
      return () => undefined;
  }
}
