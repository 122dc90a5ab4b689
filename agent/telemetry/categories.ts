import nacl from 'tweetnacl';
import { categoryTable, type CategoryTable } from '../codec/envelope-v2.js';
import { utf8Encode } from '../codec/utf8.js';
import { toHex } from '../crypto/keys.js';

interface NamedCategories {
  categories: ReadonlyArray<{ name: string }>;
}

/**
 * Digests (first 16 bytes of SHA-512, hex) of the category name lists of the three example registries the package
 * ships (in the order of DEVICE_TYPES), which a collector knows by default. Digests rather than the registries themselves, so a firmware bundle
 * carries only the registry it imports (docs/policy.md section 7); test/envelope-v2-categories.test.ts checks them
 * against the registries.
 */
export const SHIPPED_CATEGORY_DIGESTS: readonly string[] = [
  'abb2e4a7b6bf55e778e7c6c1eae757ea',
  'db7421d880be47f71964edb13ec3ca90',
  '6e6ab2b8101c2551b1583fafa990d06d',
];

export function categoryNamesDigest(names: readonly string[]): string {
  return toHex(nacl.hash(utf8Encode(names.join('\u0000')))).slice(0, 32);
}

/**
 * The category table v2 sends indexes into, or undefined to send names. Indexes only for the category lists of
 * the registries this package ships (a collector knows those by default); a vendor's own registry goes by name
 * unless the sealer is given a table explicitly, because the device cannot know which tables its collector holds.
 */
export function shippedCategoryTable(registry: NamedCategories): CategoryTable | undefined {
  const names = registry.categories.map((c) => c.name);
  return SHIPPED_CATEGORY_DIGESTS.includes(categoryNamesDigest(names)) ? categoryTable(names) : undefined;
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
