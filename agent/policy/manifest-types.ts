import type { Sensitivity, Setting } from './contract.js';

/**
 * The privacy manifest: what the device collects, why, for whom, for how long, and what it actually sends under
 * the owner's current preferences. Generated from the live registry and preferences (never written by hand), so
 * the manifest and the collection gate cannot disagree. Plain CBOR-able data: strings, numbers, booleans, arrays,
 * maps. Durations are milliseconds.
 */
export interface Manifest {
  /** Manifest format version. */
  format: 1;
  deviceType: string;
  registryVersion: number;
  /** Increments on every accepted preference change. */
  preferencesVersion: number;
  /** False until the owner has reviewed the manifest once: until then only essential categories are collected. */
  manifestReviewed: boolean;
  /** The physical sensors on the device, in plain words. */
  sensors: string[];
  protection: ManifestProtection;
  /** Recipient id -> plain description (e.g. 'vendor-cloud' -> "the manufacturer's cloud service"). */
  recipients: Record<string, string>;
  categories: ManifestCategory[];
  /**
   * Hex of the first 16 bytes of SHA-512 over the CBOR encoding of this manifest with `contentHash` set to ''.
   * Lets the app tell at a glance whether two manifests state the same terms.
   */
  contentHash: string;
}

export interface ManifestProtection {
  inTransit: string[];
  atRest: string[];
}

export type ManifestFieldType = 'number' | 'boolean' | 'string' | 'enum';

export interface ManifestField {
  name: string;
  type: ManifestFieldType;
  /** Allowed values, for enum fields only. */
  values?: string[];
  /** Unit or meaning in plain words (e.g. 'degrees Celsius'). */
  description: string;
}

export interface ManifestCategory {
  name: string;
  description: string;
  sensitivity: Sensitivity[];
  /** Needed for the device to work. */
  essential: boolean;
  /** Safety data (e.g. lock jammed): essential and can never be turned off. */
  safety: boolean;
  /** Every field the device can read for this category. */
  fields: ManifestField[];
  purposes: string[];
  /** Recipients the registry allows for this category. */
  recipients: string[];
  /** The registry's maximum retention. */
  retentionMaxMs: number;
  /** The retention actually applied: min(registry maximum, owner's choice, consented terms). */
  retentionMs: number;
  /** The owner's stored setting. */
  setting: Setting;
  /** The setting actually enforced now (differs from `setting` before the first-run review, e.g.). */
  effectiveSetting: Setting;
  /** Settings the owner may choose. */
  allowedSettings: Setting[];
  defaultSetting: Setting;
  /** Name of the minimisation level in force when the effective setting is 'minimised'. */
  level?: string;
  /** Minimisation levels the registry offers: name and plain description. */
  levels: { name: string; description: string }[];
  /** Exactly the fields of every transmitted output, after minimisation. Empty when nothing is sent. */
  sentFields: string[];
  /** Recipients the data actually goes to now. Empty when nothing is sent. */
  sentTo: string[];
  /** Plain description of what happens to the data at the effective setting. */
  handling: string;
  /** True when a policy update widened this category and the owner has not accepted it yet. */
  pendingConsent: boolean;
  /** What the owner has not yet accepted (e.g. 'new field: hrv', 'new recipient: analytics'). */
  pendingChanges: string[];
  /** Features that stop working when this category is off. */
  stopsWorkingWhenOff: string[];
}
