import { createModel } from '../models/index.js';
import type { DeviceModel, HouseholdMember, ModelOptions } from '../models/types.js';
import type { Scenario, ScenarioDevice } from './types.js';

/** The model options of one scenario device. The run loop and the checker both use this, so they see one world. */
export function modelOptionsFor(scenario: Scenario, device: ScenarioDevice, household?: readonly HouseholdMember[]): ModelOptions {
  const options: ModelOptions = { seed: device.seed, startMs: scenario.startMs };
  if (scenario.home) options.homeLocation = scenario.home;
  if (household) options.household = household;
  return options;
}

export function modelFor(scenario: Scenario, device: ScenarioDevice, household?: readonly HouseholdMember[]): DeviceModel {
  return createModel(device.type, modelOptionsFor(scenario, device, household));
}
