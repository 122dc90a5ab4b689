import type { PurgeOrder } from './contract.js';
import type { CategoryPlan } from './plan.js';

/**
 * The purges a change of plan requires: whatever is stored or queued that the new plan no longer allows.
 * - now off (withdrawn, removed, pending consent): everything of the category, stored and queued.
 * - full -> minimised, or fewer fields: everything (stored raw detail is no longer allowed; it cannot be re-minimised).
 * - sent -> local, or a recipient removed: what is queued for sending.
 * - retention shortened: everything older than the new retention.
 * Nothing is purged for a change that only widens; a change of minimisation level purges nothing (documented).
 */
export function purgesFor(before: CategoryPlan | undefined, after: CategoryPlan | undefined, category: string): PurgeOrder[] {
  if (before === undefined || before.effective === 'off') return [];
  if (after === undefined || after.effective === 'off') return [{ category, scope: 'all', reason: 'withdrawn' }];
  const orders: PurgeOrder[] = [];
  const lostFields = before.outputFields.some((f) => !after.outputFields.includes(f)) && after.aggregate === undefined && before.aggregate === undefined;
  if ((before.effective === 'full' && after.effective === 'minimised') || lostFields) {
    orders.push({ category, scope: 'all', reason: 'narrowed' });
  } else if (before.transmit && (!after.transmit || before.recipients.some((id) => !after.recipients.includes(id)))) {
    orders.push({ category, scope: 'queued', reason: 'narrowed' });
  }
  if (after.retentionMs < before.retentionMs) orders.push({ category, scope: 'all', maxAgeMs: after.retentionMs, reason: 'retention' });
  return orders;
}
