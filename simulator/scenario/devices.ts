import { createModel } from '../models/index.js';
import { createTraceModel } from '../models/trace.js';
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
  if (device.trace !== undefined) return createTraceModel(device.type, scenario.startMs, device.trace);
  return createModel(device.type, modelOptionsFor(scenario, device, household));
}
