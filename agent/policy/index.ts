/** The policy engine: registry, preferences, collection gate, minimisation, privacy manifest. Neutral (no Node). */
export type { GateOutput, PurgeOrder, Sensitivity, Setting } from './contract.js';
export type { Manifest, ManifestCategory, ManifestField, ManifestFieldType, ManifestProtection } from './manifest-types.js';
export type { AggregateOutput, AggregateRule, CategoryDef, FieldDef, FieldTransform, MinimiseLevel, Registry, TrackRule } from './registry-types.js';
export type { CategoryPreference, ConsentedTerms, PreferenceState } from './preferences.js';
export type { DropReason, PolicyCounters } from './counters.js';
export type { ChangeResult, PolicyChange, PolicyEngine, PolicyEngineOptions, Proposal, StartupInfo, UpdateResult } from './engine.js';
export type { IdentifierForms } from './identifiers.js';
export { createPolicyEngine } from './engine.js';
export { loadRegistry, SETTINGS, SENSITIVITIES, settingRank } from './registry.js';
export { registryFor, DEVICE_TYPES, thermostatRegistry, smartLockRegistry, fitnessTrackerRegistry } from './devices/index.js';
export { manifestToJson, manifestSummary, manifestHash, DEFAULT_PROTECTION } from './manifest.js';
export { hmacSha512, Pseudonymiser, PSEUDONYM_SECRET_FILE } from './pseudonym.js';
export { PREFERENCES_FILE, decodePreferences, encodePreferences } from './preferences-store.js';
export { roundTo, bucketOf } from './transforms.js';
