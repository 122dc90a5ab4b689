import type { Pseudonymiser } from './pseudonym.js';
import type { Registry } from './registry-types.js';

/** Where a person's identifier can sit in stored data, and every form it takes there. */
export interface IdentifierForms {
  category: string;
  field: string;
  /** The raw value (kept by 'local' and 'full') and its pseudonym in every epoch of the window ('minimised'). */
  values: Set<string>;
}

/**
 * Every stored form of one person's identifier over [fromMs, toMs]. A field the registry pseudonymises at some level
 * is a person identifier; its pseudonyms are recomputed per epoch with the same keyed hash the gate uses, so the
 * device can find that person's records without ever having stored who they are.
 */
export function identifierForms(registry: Registry, pseudonymiser: Pseudonymiser, value: string, fromMs: number, toMs: number): IdentifierForms[] {
  const out: IdentifierForms[] = [];
  for (const def of registry.categories) {
    for (const level of def.minimise) {
      for (const [field, chain] of Object.entries(level.fields ?? {})) {
        for (const step of chain) {
          if (step.op !== 'pseudonymise') continue;
          const values = new Set<string>([value]);
          for (let epoch = Math.floor(fromMs / step.epochMs); epoch <= Math.floor(toMs / step.epochMs); epoch++) {
            values.add(pseudonymiser.token(`${def.name}.${field}`, value, epoch * step.epochMs, step.epochMs));
          }
          out.push({ category: def.name, field, values });
        }
      }
    }
  }
  return out;
}
