import { createFitnessTrackerModel } from './fitness-tracker.js';
import { createSmartLockModel } from './smart-lock.js';
import { createThermostatModel } from './thermostat.js';
import type { DeviceModel, DeviceType, ModelOptions } from './types.js';

export * from './types.js';
export { mulberry32, mixSeed, type Prng } from './prng.js';

/** The one entry point the run loop needs: a deterministic model per device, given its own seed. */
export function createModel(type: DeviceType, options: ModelOptions): DeviceModel {
  switch (type) {
    case 'thermostat':
      return createThermostatModel(options);
    case 'smart-lock':
      return createSmartLockModel(options);
    case 'fitness-tracker':
      return createFitnessTrackerModel(options);
  }
}
