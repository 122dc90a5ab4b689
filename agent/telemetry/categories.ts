import { categoryTable, type CategoryTable } from '../codec/envelope-v2.js';
import { DEVICE_TYPES, registryFor } from '../policy/devices/index.js';

interface NamedCategories {
  categories: ReadonlyArray<{ name: string }>;
}

let shipped: Map<number, string> | undefined;

/**
 * The category table v2 sends indexes into, or undefined to send names. Indexes only for the category lists of
 * the registries this package ships (a collector knows those by default); a vendor's own registry goes by name
 * unless the sealer is given a table explicitly, because the device cannot know which tables its collector holds.
 */
export function shippedCategoryTable(registry: NamedCategories): CategoryTable | undefined {
  shipped ??= new Map(DEVICE_TYPES.map((type) => {
    const table = categoryTable(registryFor(type).categories.map((c) => c.name));
    return [table.id, table.names.join('\u0000')] as const;
  }));
  const table = categoryTable(registry.categories.map((c) => c.name));
  return shipped.get(table.id) === table.names.join('\u0000') ? table : undefined;
}

/** One table per registry object: the registry changes only with a policy update. */
export function categoryTableCache(current: () => NamedCategories): () => CategoryTable | undefined {
  let last: { registry: NamedCategories; table: CategoryTable | undefined } | undefined;
  return () => {
    const registry = current();
    if (last?.registry !== registry) last = { registry, table: shippedCategoryTable(registry) };
    return last.table;
  };
}
