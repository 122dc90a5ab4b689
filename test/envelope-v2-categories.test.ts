import { describe, expect, it } from 'vitest';
import { DEVICE_TYPES, registryFor } from '../agent/policy/devices/index.js';
import { categoryNamesDigest, SHIPPED_CATEGORY_DIGESTS, shippedCategoryTable } from '../agent/telemetry/categories.js';
import { smartPlugRegistry } from '../examples/smart-plug/registry.js';

/** The agent recognises the shipped category tables by digest, so it need not carry the example registries. */
describe('shipped category tables', () => {
  it('the digests are those of the three example registries, in order', () => {
    expect(DEVICE_TYPES.map((type) => categoryNamesDigest(registryFor(type).categories.map((c) => c.name)))).toEqual(SHIPPED_CATEGORY_DIGESTS);
  });

  it('a shipped registry gets its table; a firmware\'s own registry goes by name', () => {
    for (const type of DEVICE_TYPES) expect(shippedCategoryTable(registryFor(type))?.names).toEqual(registryFor(type).categories.map((c) => c.name));
    expect(shippedCategoryTable(smartPlugRegistry)).toBeUndefined();
  });
});
