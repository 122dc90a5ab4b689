import { TrustError } from '../../errors.js';
import { loadRegistry } from '../registry.js';
import type { Registry } from '../registry-types.js';
import { fitnessTrackerRegistry } from './fitness-tracker.js';
import { smartLockRegistry } from './smart-lock.js';
import { thermostatRegistry } from './thermostat.js';

export { fitnessTrackerRegistry, smartLockRegistry, thermostatRegistry };

/**
 * The device types of the three example registries the package ships. A firmware team passes its own registry in
 * `AgentConfig.registry` (docs/policy.md section 7); nothing here is needed by the agent, and everything here is
 * free of top-level side effects, so a bundle that does not import an example does not carry it.
 */
export const DEVICE_TYPES: readonly string[] = ['thermostat', 'smart-lock', 'fitness-tracker'];

/** The validated example registry for a device type. Validation runs on every call, so a broken edit fails fast. */
export function registryFor(deviceType: string): Registry {
  const raw = deviceType === 'thermostat' ? thermostatRegistry
    : deviceType === 'smart-lock' ? smartLockRegistry
    : deviceType === 'fitness-tracker' ? fitnessTrackerRegistry : undefined;
  if (raw === undefined) {
    throw new TrustError('INVALID_CONFIG', `no example registry for device type '${deviceType}': pass your own (docs/policy.md section 7)`);
  }
  return loadRegistry(raw);
}
