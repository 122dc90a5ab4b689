import type { Evidence } from '../verdicts/evidence.js';

/**
 * The owner's preference changes as QA wants to see them: when the companion sent each one, when the device
 * answered "accepted", and what the collector received of that category just before and just after. Built from
 * the same evidence the verdicts judge; nothing here is simulated around the agent.
 */
export function renderPreferenceChanges(evidence: Evidence): string[] {
  const lines: string[] = [];
  for (const event of evidence.scenario.events) {
    if (event.type !== 'preference') continue;
    const ack = evidence.acks.find((a) => a.eventIndex === event.index && a.deviceId === event.device);
    const answer = ack?.ackedAt === undefined ? (ack?.reason ?? 'no answer') : `accepted ${after(ack.ackedAt - ack.requestedAt)}`;
    lines.push(`  ${stamp(event.atMs)}  ${event.device}: ${Object.entries(event.patch).map(([c, p]) => `${c} → ${p.setting}`).join(', ')} (${answer})`);
    if (ack?.ackedAt === undefined) continue;
    for (const category of Object.keys(event.patch)) lines.push(`    ${category}: ${collectorView(evidence, event.device, category, ack.ackedAt)}`);
  }
  return lines.length === 0 ? [] : ['Owner changes through the companion, and what the collector saw of the category around them:', ...lines];
}

function collectorView(evidence: Evidence, deviceId: string, category: string, ackedAt: number): string {
  const records = evidence.delivered.filter((r) => r.deviceId === deviceId && r.category === category);
  const before = latest(records.filter((r) => r.at < ackedAt));
  const after = records.filter((r) => r.at >= ackedAt);
  const first = after.reduce<(typeof after)[number] | undefined>((a, r) => (a === undefined || r.at < a.at ? r : a), undefined);
  const was = before === undefined ? 'nothing before' : `before: {${Object.keys(before.data).join(', ')}} at ${stamp(before.at)}`;
  const now = first === undefined ? 'nothing since' : `since: ${after.length} readings, first {${Object.keys(first.data).join(', ')}} at ${stamp(first.at)}`;
  return `${was}; ${now}`;
}

function latest<T extends { at: number }>(records: T[]): T | undefined {
  return records.reduce<T | undefined>((a, r) => (a === undefined || r.at > a.at ? r : a), undefined);
}

function stamp(ms: number): string {
  return new Date(ms).toISOString().slice(5, 16).replace('T', ' ');
}

function after(ms: number): string {
  // Virtual time stands still while the network settles, so an answer in the same instant reads as 0 s.
  return ms === 0 ? 'in the same virtual instant' : `after ${(ms / 1000).toFixed(ms < 10_000 ? 2 : 0)} s (virtual)`;
}
