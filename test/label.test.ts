import { describe, expect, it } from 'vitest';
import { createPolicyEngine, registryFor } from '../agent/policy/index.js';
import type { Manifest } from '../agent/policy/manifest-types.js';
import { privacyLabelHtml } from '../agent/audit/label-html.js';
import { privacyLabelText } from '../agent/audit/label-text.js';
import { buildLabelModel, humanDuration } from '../agent/audit/label-model.js';
import { MapStorage, StepClock } from './audit-support.js';

const logger = { debug() {}, info() {}, warn() {}, error() {} };

async function manifestOf(type: string, reviewed = true): Promise<Manifest> {
  const engine = await createPolicyEngine({ registry: registryFor(type), storage: new MapStorage(), clock: new StepClock(), logger });
  if (reviewed) await engine.markManifestReviewed();
  return engine.manifest();
}

describe('privacy label', () => {
  it.each(['thermostat', 'smart-lock', 'fitness-tracker'])('%s: a self-contained page with both layers', async (type) => {
    const manifest = await manifestOf(type);
    const html = privacyLabelHtml(manifest);
    // Self-contained: no script, no external resource of any kind, and a CSP that forbids fetching.
    expect(html).not.toMatch(/<script|<img|<link|src=|url\(|@import|https?:\/\//i);
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'"`);
    expect(html).toContain('<html lang="en">');
    for (const heading of ['What is collected', 'What is shared', 'How long it is kept', 'What you can turn off or on']) expect(html).toContain(heading);
    // Second layer: one <details> per category.
    expect(html.match(/<details/g)).toHaveLength(manifest.categories.length);
  });

  it('says exactly what the manifest says is collected, shared and kept', async () => {
    const manifest = await manifestOf('thermostat');
    const model = buildLabelModel(manifest);
    const collected = manifest.categories.filter((c) => c.effectiveSetting !== 'off');
    expect(model.collected.map((c) => c.title.toLowerCase())).toEqual(collected.map((c) => c.name.toLowerCase()));
    expect(model.notCollected).toEqual(['Comfort', 'Occupancy', 'Labels']);
    expect(model.kept).toEqual(collected.map((c) => ({ title: expect.any(String), duration: humanDuration(c.retentionMs) })));
    const sent = manifest.categories.filter((c) => c.sentTo.length > 0);
    expect(model.shared.flatMap((s) => s.items)).toHaveLength(sent.reduce((n, c) => n + c.sentTo.length, 0));
    expect(model.canTurnOn.map((c) => c.title)).toEqual(['Comfort', 'Occupancy', 'Labels']);
  });

  it('marks safety data as always on and shows the first-run notice before review', async () => {
    const manifest = await manifestOf('smart-lock', false);
    const model = buildLabelModel(manifest);
    expect(model.alwaysOn).toContain('Safety alert');
    expect(model.canTurnOff.map((c) => c.title)).not.toContain('Safety alert');
    expect(privacyLabelHtml(manifest)).toContain('First run');
    expect(privacyLabelText(manifest)).toContain('First run');
  });

  it('shows updates waiting for consent', async () => {
    const manifest = await manifestOf('fitness-tracker');
    const pending: Manifest = {
      ...manifest,
      categories: manifest.categories.map((c) => (c.name === 'sleep' ? { ...c, pendingConsent: true, pendingChanges: ['new recipient: analytics'] } : c)),
    };
    expect(privacyLabelText(pending)).toContain('new recipient: analytics');
    expect(privacyLabelHtml(pending)).toContain('Nothing changes until you accept it.');
  });

  it('escapes everything taken from the manifest', async () => {
    const manifest = await manifestOf('thermostat');
    const evil: Manifest = { ...manifest, categories: manifest.categories.map((c) => ({ ...c, description: '<script>alert(1)</script> & "x"' })) };
    const html = privacyLabelHtml(evil);
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;');
  });

  it('plain text: wrapped at 72 columns, all four first-layer answers', async () => {
    const text = privacyLabelText(await manifestOf('fitness-tracker'));
    for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(72);
    for (const h of ['WHAT IS COLLECTED', 'WHAT IS SHARED', 'HOW LONG IT IS KEPT', 'WHAT YOU CAN TURN OFF']) expect(text).toContain(h);
  });

  it('words durations the way people say them', () => {
    expect(humanDuration(30 * 86_400_000)).toBe('30 days');
    expect(humanDuration(86_400_000)).toBe('1 day');
    expect(humanDuration(12 * 3_600_000)).toBe('12 hours');
    expect(humanDuration(90_000)).toBe('2 minutes');
  });
});
