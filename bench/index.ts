// npm run bench [-- section ...]: each section prints its figures next to a floor measured in the same run.
import { runAgentBench } from './agent.js';
import { runEnvelopeBench } from './envelope.js';
import { runOwnerBench } from './owner.js';
import { runPolicyBench } from './policy.js';
import { runStoreBench } from './store.js';

const SECTIONS: Record<string, () => Promise<void>> = {
  agent: runAgentBench,
  envelope: runEnvelopeBench,
  policy: runPolicyBench,
  owner: runOwnerBench,
  store: runStoreBench,
};

const wanted = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
for (const name of wanted) {
  if (!(name in SECTIONS)) {
    console.error(`unknown bench section '${name}'; sections: ${Object.keys(SECTIONS).join(', ')}`);
    process.exit(2);
  }
}
for (const [name, run] of Object.entries(SECTIONS)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  console.log(`\n== ${name} ==`);
  await run();
}
