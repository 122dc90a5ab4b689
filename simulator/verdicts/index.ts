import { checkMinimisation, checkRetention, checkWithdrawal } from './checks-data.js';
import { checkAuditTrails, checkDataRights, checkDelivery, checkHostile, checkPreferenceEnforcement } from './checks-flow.js';
import { checkWire } from './checks-wire.js';
import { createContext } from './context.js';
import type { Evidence, Verdict } from './evidence.js';

export type * from './evidence.js';
export { recordKey } from './evidence.js';
export { buildTimeline, offlineWindows, type Segment, type Timeline } from './timeline.js';
export { categoriesOf, registryOf, rulesOf, type Setting } from './data-model.js';
export { envelopeProblem } from './checks-wire.js';

/** Run every compliance verdict over the evidence. Pure: same evidence, same verdicts, same order. */
export function checkVerdicts(evidence: Evidence): Verdict[] {
  const ctx = createContext(evidence);
  return [
    checkWithdrawal(ctx),
    checkMinimisation(ctx),
    checkRetention(ctx),
    checkWire(ctx),
    checkDelivery(ctx),
    checkPreferenceEnforcement(ctx),
    checkHostile(ctx),
    checkDataRights(ctx),
    checkAuditTrails(ctx),
  ];
}

export function allPassed(verdicts: readonly Verdict[]): boolean {
  return verdicts.every((v) => v.pass);
}
