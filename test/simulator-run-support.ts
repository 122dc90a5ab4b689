import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Agent } from '../agent/agent.js';
import type { GateOutput } from '../agent/policy/index.js';
import { compressScenario } from '../simulator/scenario/compress.js';
import { loadScenarioFile } from '../simulator/scenario/loader.js';
import type { Scenario } from '../simulator/scenario/types.js';
import type { Verdict } from '../simulator/verdicts/index.js';

export const SCENARIO_DIR = fileURLToPath(new URL('../simulator/scenarios/', import.meta.url));
export const SCENARIOS = readdirSync(SCENARIO_DIR).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, '')).sort();
export const DAY = 86_400_000;

/** A shipped scenario squeezed into at most `durationMs` (every event still runs, for real). */
export async function scenario(name: string, durationMs = DAY): Promise<Scenario> {
  return compressScenario(await loadScenarioFile(join(SCENARIO_DIR, `${name}.json`)), durationMs);
}

export function failed(verdicts: readonly Verdict[]): string[] {
  return verdicts.filter((v) => !v.pass).map((v) => `${v.id}: ${v.summary} ${JSON.stringify(v.firstOffending ?? '').slice(0, 400)}`);
}

type Collect = (category: string, data: Record<string, unknown>, at: number) => GateOutput[];
type Forbids = (output: GateOutput, now: number) => string | undefined;

/**
 * The policy engine inside the agent, reached past the public read-only view (a broken build is not bound by the
 * public API), with its send-time gate switched off for `category` so what the broken gate lets through does leave.
 */
function brokenPolicy(agent: Agent, category: string): { collect: Collect } {
  const policy = (agent as unknown as { parts: { policy: { collect: Collect; forbidsSending: Forbids } } }).parts.policy;
  const real = policy.forbidsSending.bind(policy);
  policy.forbidsSending = (output, now) => (output.category === category ? undefined : real(output, now));
  return policy;
}

/**
 * A deliberately broken build: the collection gate (and the send-time gate) is bypassed for one category (what a firmware bug that writes
 * readings straight to the store would do). Everything after the gate is the real pipeline.
 */
export function bypassGate(agent: Agent, category: string, shape: (data: Record<string, unknown>) => Record<string, unknown>): void {
  const policy = brokenPolicy(agent, category);
  const real = policy.collect.bind(policy);
  policy.collect = (c, data, at) => {
    if (c !== category) return real(c, data, at);
    return [{ category: c, at, data: shape(data), expiresAt: at + DAY, transmit: true, essential: false, recipients: ['vendor'] }];
  };
}

/** Broken differently: the gate runs, but whatever it drops for `category` is sent anyway in the minimised shape. */
export function ignoreWithdrawal(agent: Agent, category: string, shape: (data: Record<string, unknown>) => Record<string, unknown>): void {
  const policy = brokenPolicy(agent, category);
  const real = policy.collect.bind(policy);
  let cached = { version: -1, off: false };
  const isOff = (): boolean => {
    const version = agent.rights.preferencesVersion();
    if (cached.version !== version) {
      const setting = agent.policy.manifest().categories.find((c) => c.name === category)?.effectiveSetting;
      cached = { version, off: setting === 'off' };
    }
    return cached.off;
  };
  policy.collect = (c, data, at) => {
    const out = real(c, data, at);
    if (c !== category || !isOff()) return out;
    return [{ category: c, at, data: shape(data), expiresAt: at + DAY, transmit: true, essential: false, recipients: ['vendor'] }];
  };
}

