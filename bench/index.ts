// npm run bench [-- section ...]: each section prints its figures next to a floor measured in the same run.
import { runAgentBench } from './agent.js';
import { runAllocBench } from './alloc.js';
import { runBootBench } from './boot.js';
import { runDecodeBench } from './decode.js';
import { runEnvelopeBench } from './envelope.js';
import { runEnvelopeBytesBench } from './envelope-bytes.js';
import { runFlashBench } from './flash.js';
import { runFleetBench } from './fleet.js';
import { runMemoryBench } from './memory.js';
import { runOwnerBench } from './owner.js';
import { runPolicyBench } from './policy.js';
import { runStoreBench } from './store.js';

const SECTIONS: Record<string, () => Promise<void>> = {
  agent: runAgentBench,
  alloc: runAllocBench,
  boot: runBootBench,
  decode: runDecodeBench,
  envelope: runEnvelopeBench,
  'envelope-bytes': runEnvelopeBytesBench,
  flash: runFlashBench,
  policy: runPolicyBench,
  owner: runOwnerBench,
  store: runStoreBench,
  memory: runMemoryBench,
};
/** Runs only when named (`npm run bench -- fleet`): booting thousands of agents takes minutes. */
const ON_REQUEST: Record<string, () => Promise<void>> = { fleet: runFleetBench };

const wanted = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
const ALL = { ...SECTIONS, ...ON_REQUEST };
for (const name of wanted) {
  if (!(name in ALL)) {
    console.error(`unknown bench section '${name}'; sections: ${Object.keys(ALL).join(', ')} (fleet only when named)`);
    process.exit(2);
  }
}
for (const [name, run] of Object.entries(wanted.length === 0 ? SECTIONS : ALL)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  console.log(`\n== ${name} ==`);
  await run();
}
