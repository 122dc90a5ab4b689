import type { StoragePort } from '../agent/ports/storage.js';
import { createCollector, type Collector, type CollectorOptions } from './index.js';
import { fileCollectorState, type CollectorState, type FileStateOptions } from './state.js';

/**
 * A collector run as a receiving service: its replay and dedup memory lives in the embedded state log on `storage`
 * (on Node, `nodeFileStorage(dataDir)`), so a restart refuses what was accepted before (docs/protocol.md, "Collector
 * state"). `close()` makes the last facts durable.
 */
export async function openCollectorService(
  options: Omit<CollectorOptions, 'state'> & { storage: StoragePort; stateFile?: FileStateOptions },
): Promise<{ collector: Collector; state: CollectorState; close(): Promise<void> }> {
  const { storage, stateFile, ...rest } = options;
  const state = await fileCollectorState(storage, stateFile ?? {});
  const collector = createCollector({ ...rest, state });
  return { collector, state, close: () => state.close() };
}
