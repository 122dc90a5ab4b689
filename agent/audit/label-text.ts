import type { Manifest } from '../policy/manifest-types.js';
import { buildLabelModel, categoryTitle, offReason, humanDuration, recipientWords, SENSITIVITY_WORDS, SETTING_WORDS } from './label-model.js';

/** The same label as plain text, wrapped at 72 columns: for a terminal, an e-mail or a device with a text screen. */
export function privacyLabelText(manifest: Manifest): string {
  const m = buildLabelModel(manifest);
  const out: string[] = [];
  const heading = (text: string): void => {
    out.push('', text.toUpperCase(), '-'.repeat(text.length));
  };
  out.push(`PRIVACY LABEL: ${m.device.toUpperCase()}`, '='.repeat(15 + m.device.length));
  out.push(...wrap('What this device collects, who receives it, how long it is kept and what you can switch off. Written by the device from the settings it enforces right now.'));
  for (const notice of m.notices) out.push('', ...wrap(`! ${notice}`, '  '));

  heading('What is collected');
  if (m.collected.length === 0) out.push('Nothing at the moment.');
  for (const c of m.collected) out.push(...wrap(`* ${c.title}: ${c.how.charAt(0).toLowerCase()}${c.how.slice(1)}`, '  '));
  if (m.notCollected.length > 0) out.push(...wrap(`Not collected: ${m.notCollected.join(', ')}.`));

  heading('What is shared');
  if (m.shared.length === 0) out.push('Nothing leaves the device.');
  for (const s of m.shared) out.push(...wrap(`* To ${s.to}: ${s.items.join(', ')}`, '  '));
  if (m.keptOnDevice.length > 0) out.push(...wrap(`Kept on the device only: ${m.keptOnDevice.join(', ')}.`));

  heading('How long it is kept');
  const width = Math.max(0, ...m.kept.map((k) => k.title.length));
  for (const k of m.kept) out.push(`* ${k.title.padEnd(width)}  ${k.duration}`);
  out.push('Then it is deleted, on the device and in its send queue.');

  heading('What you can turn off');
  for (const c of m.canTurnOff) out.push(...wrap(`* ${c.title} (on now). Turning it off stops: ${c.loses}.`, '  '));
  for (const c of m.canTurnOn) out.push(...wrap(`* ${c.title} (off now). Turn it on for: ${c.gains}.`, '  '));
  if (m.alwaysOn.length > 0) out.push(...wrap(`Always on: ${m.alwaysOn.join(', ')}.`));

  heading('Details for each kind of data');
  for (const c of manifest.categories) {
    out.push('', `${categoryTitle(c.name)} [${SETTING_WORDS[c.effectiveSetting] ?? c.effectiveSetting}]`);
    const line = (label: string, text: string): void => {
      out.push(...wrap(`${label}: ${text}`, '    ', '  '));
    };
    line('What it is', c.description);
    line('Sensitivity', c.sensitivity.map((x) => SENSITIVITY_WORDS[x] ?? x).join(', '));
    line('Why', c.purposes.join('; '));
    line('Fields read', c.fields.map((f) => `${f.name} (${f.description})`).join(', '));
    if (c.effectiveSetting === 'off') line('Why it is off', offReason(c));
    line('Sent', c.sentFields.length === 0 ? 'nothing' : `${c.sentFields.join(', ')} to ${c.sentTo.map((r) => recipientWords(manifest, r)).join(', ')}`);
    line(c.effectiveSetting === 'off' ? 'Would be kept for' : 'Kept for', `${humanDuration(c.retentionMs)} (at most ${humanDuration(c.retentionMaxMs)})`);
    line('If off', c.safety ? 'cannot be turned off: safety data' : c.stopsWorkingWhenOff.join('; ') || 'nothing else stops working');
    if (c.pendingConsent) line('Waiting for you', c.pendingChanges.join('; ') || 'updated terms');
  }

  heading('How your data is protected');
  for (const p of manifest.protection.inTransit) out.push(...wrap(`* On the way: ${p}`, '  '));
  for (const p of manifest.protection.atRest) out.push(...wrap(`* On the device: ${p}`, '  '));
  out.push('', ...wrap(`Sensors: ${manifest.sensors.join(', ')}. Register v${manifest.registryVersion}, settings v${manifest.preferencesVersion}, fingerprint ${manifest.contentHash}.`));
  return `${out.join('\n')}\n`;
}

/** Greedy word wrap; `indent` for continuation lines, `first` before the first line. */
function wrap(text: string, indent = '', first = '', width = 72): string[] {
  const lines: string[] = [];
  let line = first;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const start = lines.length === 0 ? first : indent;
    if (line.length > start.length && line.length + 1 + word.length > width) {
      lines.push(line);
      line = indent + word;
    } else line = line.length > start.length ? `${line} ${word}` : line + word;
  }
  if (line.trim().length > 0) lines.push(line);
  return lines;
}
