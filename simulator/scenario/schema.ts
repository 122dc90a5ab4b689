import type { Schema } from './validate.js';
import published from '../schema/scenario.schema.json' with { type: 'json' };

/**
 * The published scenario schema (draft 2020-12): one file, simulator/schema/scenario.schema.json, read by editors and
 * bundled into the loader (esbuild inlines the JSON), so the two cannot drift apart.
 */
export const SCENARIO_SCHEMA: Schema = published as Schema;
