import type { Manifest, ManifestCategory } from '../policy/manifest-types.js';
import {
  buildLabelModel, categoryTitle, offReason, humanDuration, recipientWords, SENSITIVITY_WORDS, SETTING_WORDS, type LabelModel,
} from './label-model.js';

/**
 * The owner-readable privacy label as one self-contained HTML page: inline CSS, no scripts, no images, no fonts to
 * fetch, and a Content-Security-Policy that forbids every network request. First layer: four answers at a glance.
 * Second layer: one collapsible section per kind of data with everything the manifest says about it.
 */
export function privacyLabelHtml(manifest: Manifest, options: { expanded?: boolean } = {}): string {
  const model = buildLabelModel(manifest);
  const title = `Privacy label: ${model.device}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<header>
<p class="eyebrow">Privacy label</p>
<h1>${esc(model.device)}</h1>
<p class="lede">What this device collects, who receives it, how long it is kept and what you can switch off. The device writes this label itself from the settings it enforces right now.</p>
</header>
${notices(model)}
<section class="glance" aria-label="At a glance">
${card('What is collected', collectedList(model))}
${card('What is shared', sharedList(model))}
${card('How long it is kept', keptList(model))}
${card('What you can turn off or on', offList(model))}
</section>
<section class="details" aria-labelledby="details-h">
<h2 id="details-h">Details for each kind of data</h2>
${manifest.categories.map((c) => categoryDetails(manifest, c, options.expanded === true)).join('\n')}
</section>
${footer(manifest)}
</main>
</body>
</html>
`;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ESCAPES[ch] ?? ch);
}

function card(heading: string, body: string): string {
  return `<article class="card"><h2>${esc(heading)}</h2>${body}</article>`;
}

function notices(model: LabelModel): string {
  if (model.notices.length === 0) return '';
  return `<aside class="notice" role="note"><ul>${model.notices.map((n) => `<li>${esc(n)}</li>`).join('')}</ul></aside>`;
}

function collectedList(model: LabelModel): string {
  const items = model.collected.map((c) => `<li><strong>${esc(c.title)}</strong><span>${esc(c.how)}</span></li>`).join('');
  const none = model.collected.length === 0 ? '<p>Nothing at the moment.</p>' : `<ul class="facts">${items}</ul>`;
  const off = model.notCollected.length === 0 ? '' : `<p class="muted">Not collected: ${esc(model.notCollected.join(', '))}.</p>`;
  return none + off;
}

function sharedList(model: LabelModel): string {
  if (model.shared.length === 0) return '<p>Nothing leaves the device.</p>';
  const items = model.shared.map((s) => `<li><strong>${esc(capitalise(s.to))}</strong><span>${esc(s.items.join(', '))}</span></li>`).join('');
  const local = model.keptOnDevice.length === 0 ? '' : `<p class="muted">Kept on the device only: ${esc(model.keptOnDevice.join(', '))}.</p>`;
  return `<ul class="facts">${items}</ul>${local}<p class="muted">Encrypted end to end: only the named recipient can read it. Nothing is shared with anyone not listed here.</p>`;
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function keptList(model: LabelModel): string {
  if (model.kept.length === 0) return '<p>Nothing is kept.</p>';
  const rows = model.kept.map((k) => `<tr><th scope="row">${esc(k.title)}</th><td>${esc(k.duration)}</td></tr>`).join('');
  return `<table class="kept"><tbody>${rows}</tbody></table><p class="muted">Then it is deleted, on the device and in its send queue.</p>`;
}

function offList(model: LabelModel): string {
  const parts: string[] = [];
  if (model.canTurnOff.length > 0) {
    const items = model.canTurnOff.map((c) => `<li><strong>${esc(c.title)}</strong><span>Turning it off stops: ${esc(c.loses)}.</span></li>`).join('');
    parts.push(`<h3>On now</h3><ul class="facts">${items}</ul>`);
  }
  if (model.canTurnOn.length > 0) {
    const items = model.canTurnOn.map((c) => `<li><strong>${esc(c.title)}</strong><span>Off. Turn it on for: ${esc(c.gains)}.</span></li>`).join('');
    parts.push(`<h3>Off now, yours to turn on</h3><ul class="facts">${items}</ul>`);
  }
  if (parts.length === 0) parts.push('<p>Nothing can be turned off.</p>');
  if (model.alwaysOn.length > 0) parts.push(`<p class="muted">Always on: ${esc(model.alwaysOn.join(', '))}.</p>`);
  parts.push('<p class="muted">Change these in the companion app. Turning something off also deletes what the device holds of it, sent or not.</p>');
  return parts.join('');
}

function categoryDetails(manifest: Manifest, c: ManifestCategory, open: boolean): string {
  const badges = c.sensitivity.map((s) => `<span class="badge b-${esc(s)}">${esc(SENSITIVITY_WORDS[s] ?? s)}</span>`).join('');
  const state = c.effectiveSetting === 'off' ? 'state-off' : 'state-on';
  const rows: [string, string][] = [
    ['What it is', esc(c.description)],
    ['Why', esc(c.purposes.join('; '))],
    ['Fields read', `<ul class="plain">${c.fields.map((f) => `<li><code>${esc(f.name)}</code> ${esc(f.description)}</li>`).join('')}</ul>`],
    ['Your setting', esc(settingLine(c))],
    ['Sent', c.sentFields.length === 0 ? 'nothing' : `${c.sentFields.map((f) => `<code>${esc(f)}</code>`).join(', ')} to ${esc(c.sentTo.map((r) => recipientWords(manifest, r)).join(', '))}`],
    ['May go to', esc(c.recipients.map((r) => recipientWords(manifest, r)).join(', '))],
    [c.effectiveSetting === 'off' ? 'Would be kept for' : 'Kept for', esc(`${humanDuration(c.retentionMs)} (the device allows at most ${humanDuration(c.retentionMaxMs)})`)],
    ['Reduced detail options', c.levels.length === 0 ? 'none' : `<ul class="plain">${c.levels.map((l) => `<li>${esc(l.description)}</li>`).join('')}</ul>`],
    ['If you turn it off', esc(c.safety ? 'cannot be turned off: safety data' : c.stopsWorkingWhenOff.join('; ') || 'nothing else stops working')],
  ];
  // When off, the manifest's handling says why (first run, awaiting consent, or the owner's choice).
  if (c.effectiveSetting === 'off') rows.splice(4, 0, ['Why it is off', esc(offReason(c))]);
  if (c.pendingConsent) rows.push(['Waiting for you', esc(c.pendingChanges.join('; ') || 'updated terms')]);
  const dl = rows.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('');
  return `<details${open ? ' open' : ''}><summary><span class="name">${esc(categoryTitle(c.name))}</span>${badges}<span class="state ${state}">${esc(SETTING_WORDS[c.effectiveSetting] ?? c.effectiveSetting)}</span></summary><dl>${dl}</dl></details>`;
}

function settingLine(c: ManifestCategory): string {
  const role = c.safety ? 'safety data, always on' : c.essential ? 'needed for the device to work' : 'optional';
  const enforced = c.effectiveSetting === c.setting ? '' : ` (enforced now: ${SETTING_WORDS[c.effectiveSetting] ?? c.effectiveSetting})`;
  const choices = c.allowedSettings.map((s) => SETTING_WORDS[s] ?? s).join(', ');
  return `${SETTING_WORDS[c.setting] ?? c.setting}${enforced}; ${role}; you can choose: ${choices}; default: ${SETTING_WORDS[c.defaultSetting] ?? c.defaultSetting}`;
}

function footer(manifest: Manifest): string {
  const list = (items: string[]): string => `<ul class="plain">${items.map((i) => `<li>${esc(i)}</li>`).join('')}</ul>`;
  return `<footer>
<h2>How your data is protected</h2>
<div class="protect"><div><h3>On the way</h3>${list(manifest.protection.inTransit)}</div><div><h3>On the device</h3>${list(manifest.protection.atRest)}</div></div>
<p class="muted">Sensors: ${esc(manifest.sensors.join(', '))}. Data register version ${manifest.registryVersion}, your settings version ${manifest.preferencesVersion}, label fingerprint <code>${esc(manifest.contentHash)}</code>.</p>
</footer>`;
}

const CSS = `
:root{--ink:#1b1f24;--muted:#4d5560;--line:#d5dbe1;--bg:#f6f7f9;--card:#fff;--accent:#0b5cad;--warn-bg:#fff6dd;--warn-line:#e3b341}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Liberation Sans",Arial,sans-serif}
main{max-width:62rem;margin:0 auto;padding:2rem 1.25rem 3rem}
header{margin-bottom:1.25rem}
.eyebrow{margin:0;text-transform:uppercase;letter-spacing:.08em;font-size:.8rem;font-weight:700;color:var(--accent)}
h1{margin:.15rem 0 .5rem;font-size:2.2rem;line-height:1.15}
.lede{margin:0;max-width:44rem;color:var(--muted);font-size:1.05rem}
h2{font-size:1.15rem;margin:0 0 .6rem}
h3{font-size:1rem;margin:0 0 .4rem}
.notice{background:var(--warn-bg);border:1px solid var(--warn-line);border-radius:10px;padding:.75rem 1rem;margin:0 0 1.25rem}
.notice ul{margin:0;padding-left:1.1rem}
.glance{display:grid;align-items:start;grid-template-columns:repeat(auto-fit,minmax(min(100%,26rem),1fr));gap:1rem;margin-bottom:2rem}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:1.1rem 1.2rem}
.card h2{padding-bottom:.45rem;border-bottom:3px solid var(--ink)}
.card h3{margin:.8rem 0 .1rem;font-size:.8rem;text-transform:uppercase;letter-spacing:.06em;color:var(--muted)}
.facts{list-style:none;margin:0;padding:0}
.facts li{padding:.45rem 0;border-bottom:1px solid var(--line)}
.facts li:last-child{border-bottom:0}
.facts strong{display:block}
.facts span{display:block;color:var(--muted);font-size:.95rem}
.muted{color:var(--muted);font-size:.92rem;margin:.6rem 0 0}
table.kept{width:100%;border-collapse:collapse}
.kept th,.kept td{text-align:left;padding:.4rem 0;border-bottom:1px solid var(--line);font-weight:400}
.kept th{font-weight:600}
.kept td{text-align:right;white-space:nowrap}
.details h2{font-size:1.35rem;margin-bottom:.8rem}
details{background:var(--card);border:1px solid var(--line);border-radius:10px;margin:0 0 .6rem}
summary{cursor:pointer;padding:.8rem 1rem;display:flex;flex-wrap:wrap;align-items:center;gap:.5rem;list-style-position:inside}
summary:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.name{font-weight:700;margin-right:auto}
.badge{font-size:.78rem;padding:.1rem .55rem;border-radius:99px;border:1px solid var(--line);background:#eef1f4}
.b-health{background:#fde8e8;border-color:#f0b4b4}.b-location{background:#e7f0fd;border-color:#a9c5ef}
.b-presence{background:#f3e8fd;border-color:#cfb0ee}.b-identity{background:#fdf0e2;border-color:#eec79a}
.state{font-size:.8rem;font-weight:600;padding:.1rem .55rem;border-radius:6px}
.state-on{background:#e3f4e8;color:#14532d}.state-off{background:#eceef1;color:#3d4450}
dl{display:grid;grid-template-columns:minmax(9rem,13rem) 1fr;gap:.35rem 1rem;margin:0;padding:.2rem 1rem 1rem;border-top:1px solid var(--line)}
dt{font-weight:600;padding-top:.5rem}dd{margin:0;padding-top:.5rem}
@media (max-width:560px){dl{grid-template-columns:1fr}dt{padding-top:.6rem}dd{padding-top:0}}
ul.plain{margin:0;padding-left:1.1rem}
code{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,monospace;font-size:.88em;background:#eef1f4;padding:.05rem .3rem;border-radius:4px;word-break:break-all}
footer{margin-top:2rem;border-top:1px solid var(--line);padding-top:1.25rem}
.protect{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,22rem),1fr));gap:1rem}
@media print{body{background:#fff}details{break-inside:avoid}}
`;
