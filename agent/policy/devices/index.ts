import { TrustError } from '../../errors.js';
import { loadRegistry } from '../registry.js';
import type { Registry } from '../registry-types.js';
import { fitnessTrackerRegistry } from './fitness-tracker.js';
import { smartLockRegistry } from './smart-lock.js';
import { thermostatRegistry } from './thermostat.js';

export { fitnessTrackerRegistry, smartLockRegistry, thermostatRegistry };

const SHIPPED: Record<string, Registry> = {
  thermostat: thermostatRegistry,
  'smart-lock': smartLockRegistry,
  'fitness-tracker': fitnessTrackerRegistry,
};

export const DEVICE_TYPES: readonly string[] = Object.keys(SHIPPED);

/** The validated registry shipped for a device type. Validation runs on every call, so a broken edit fails fast. */
export function registryFor(deviceType: string): Registry {
  const raw = SHIPPED[deviceType];
  if (raw === undefined) throw new TrustError('INVALID_CONFIG', `no registry for device type '${deviceType}'`);
  return loadRegistry(raw);
}
