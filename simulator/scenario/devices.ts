import { TrustError } from '../../agent/errors.js';
import { createModel } from '../models/index.js';
import { createTraceModel } from '../models/trace.js';
import { DEVICE_TYPES, type DeviceModel, type DeviceType, type HouseholdMember, type ModelOptions } from '../models/types.js';
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
  if (!isShippedType(device.type)) throw new TrustError('INVALID_CONFIG', `device ${device.id}: a custom type (${device.type}) runs only from a trace`);
  return createModel(device.type, modelOptionsFor(scenario, device, household));
}

/** A type the simulator ships a synthetic model and a checker data model for (the rest need a registry and a trace). */
export function isShippedType(type: string): type is DeviceType {
  return (DEVICE_TYPES as readonly string[]).includes(type);
}
