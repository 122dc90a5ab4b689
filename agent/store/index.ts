/** The retention-enforcing store: see docs/storage.md. */
export { createStore, type StoreOptions } from './store.js';
export type {
  DurabilityOptions, PurgeReport, RecordFacts, RecordId, Store, StoreLimits, StoreStats, StoredRecord,
} from './contract.js';
