import { describe, expect, it } from 'vitest';
import { runFleet } from '../bench/fleet.js';

/**
 * The fleet bench's own accounting, on a tiny fleet: real agents over TLS to a real broker, worker threads and the
 * product collector. Asserts counts and content only (no timing): every reading a device accepted is delivered
 * once, verified, with a matching checksum, for the agent and for the baseline.
 */
describe('fleet bench', () => {
  it('delivers and verifies every reading of a small fleet, agent and baseline', async () => {
    const results = await runFleet({ steps: [6], windowSeconds: 3, variants: ['baseline', 'immediate'], workers: 2, shardSize: 4 });
    expect([...results.keys()].sort()).toEqual(['agent, immediate (flush() after each reading)', 'baseline: mqtt.js, plain CBOR, 1 reading/message']);
    for (const [phase, steps] of results) {
      expect(steps, phase).toHaveLength(1);
      const step = steps[0]!;
      expect(step.held, phase).toBe(6);
      expect(step.failures, phase).toBe(0);
      expect(step.sent, phase).toBeGreaterThan(6 * 3);
      expect(step.delivered, phase).toBe(step.sent);
      expect(step.lost, phase).toBe(0);
      expect(step.checksumOk, phase).toBe(true);
      expect(step.rejected, phase).toBe(0);
      expect(step.duplicates, phase).toBe(0);
    }
  }, 120_000);
});
