import type { FieldTransform } from './registry-types.js';
import type { Pseudonymiser } from './pseudonym.js';

/** A compiled transform chain for one field: value and reading time in, minimised value out. */
export type FieldFn = (value: unknown, at: number) => unknown;

/** Strip binary floating-point noise (0.1 * 3 = 0.30000000000000004) so outputs look like what the rule says. */
export function clean(value: number): number {
  return Number.parseFloat(value.toPrecision(12));
}

export function roundTo(value: number, step: number): number {
  return clean(Math.round(value / step) * step);
}

/** Index of the bucket/cell holding `value`, robust against division noise at cell edges. */
export function cellIndex(value: number, size: number): number {
  let k = Math.floor(value / size);
  if ((k + 1) * size <= value) k += 1;
  else if (k * size > value) k -= 1;
  return k;
}

export function bucketOf(value: number, size: number): number {
  return clean(cellIndex(value, size) * size);
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
    case 'round':
      return (v) => roundTo(v as number, t.step);
    case 'bucket':
      return (v) => bucketOf(v as number, t.size);
    case 'grid':
      return (v) => bucketOf(v as number, t.cell);
    case 'classify':
      // Unmapped free-text values become 'other': a raw value must never slip through a classifier.
      return (v) => t.classes[v as string] ?? 'other';
    case 'pseudonymise':
      return (v, at) => pseudonymiser.token(scope, v as string, at, t.epochMs);
    case 'drop':
      return () => undefined;
  }
}
