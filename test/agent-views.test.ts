import { describe, expect, it } from 'vitest';
import { makeAgent, memoryWorld, startCollector } from './helpers/agent-kit.js';

/** Issue 10 item 8: the public Agent shows policy, store and audit read-only; changes go through agent.rights. */
describe('read-only views of the agent', () => {
  it('hand out no mutator at run time, are frozen, and give copies a caller cannot write through', async () => {
    const world = memoryWorld();
    const col = await startCollector(world);
    const { agent } = await makeAgent(world, { deviceId: 'view-th', recipientPublicKey: col.publicKey });
    await agent.rights.applyPatch({ categories: { comfort: { setting: 'full' } }, manifestReviewed: true });
    await agent.record('comfort', { setting: 'home' });
    const views = { policy: agent.policy, store: agent.store, audit: agent.audit } as Record<string, unknown>;
    const mutators: Record<string, string[]> = {
      policy: ['applyPatch', 'reset', 'markManifestReviewed', 'acceptPending', 'updateRegistry', 'install', 'persist', 'propose', 'collect', 'flushWindows', 'rotatePseudonymSecret'],
      store: ['append', 'acknowledge', 'purge', 'eraseAll', 'eraseMatching', 'discard', 'sweep', 'nextBatch', 'trustTime', 'close'],
      audit: ['record', 'checkpoint', 'rotateKey', 'close'],
    };
    for (const [name, methods] of Object.entries(mutators)) {
      const view = views[name] as Record<string, unknown>;
      expect(Object.isFrozen(view), `${name} view frozen`).toBe(true);
      for (const method of methods) expect(view[method], `${name}.${method}`).toBeUndefined();
      expect(() => { view['applyPatch'] = () => undefined; }).toThrow(TypeError);
    }
    const registry = agent.policy.registry();
    registry.categories.length = 0;
    expect(agent.policy.registry().categories.length).toBeGreaterThan(0);
    const entries = agent.audit.entries() as unknown as Array<{ type: string }>;
    const first = entries[0];
    if (first !== undefined) first.type = 'tampered';
    expect(agent.audit.entries()[0]?.type).not.toBe('tampered');
    expect(await agent.store.query('comfort')).toHaveLength(1);
    expect(agent.policy.manifest().categories.find((c) => c.name === 'comfort')?.effectiveSetting).toBe('full');
    await agent.stop();
  });
});
