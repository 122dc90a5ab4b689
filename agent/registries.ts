/**
 * The three example registries the package ships (`iot-trust-agent/registries`): a thermostat, a smart lock and a
 * fitness tracker. A firmware passes its own registry in `AgentConfig.registry` (docs/policy.md section 7); these are
 * examples to copy from or to use as they are. Kept out of the core entry, so a firmware bundle carries only the
 * registry it imports.
 */
export { registryFor, DEVICE_TYPES, thermostatRegistry, smartLockRegistry, fitnessTrackerRegistry } from './policy/devices/index.js';
