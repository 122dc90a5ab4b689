import { writeFile } from 'node:fs/promises';
import { decodeCbor } from '../agent/codec/cbor.js';
import { utf8Encode } from '../agent/codec/utf8.js';
import { TrustError } from '../agent/errors.js';
import type { AcceptedReply } from '../agent/owner/replies.js';
import { privacyLabelText } from '../agent/audit/label-text.js';
import { complianceToMarkdown } from '../agent/audit/report.js';
import type { ComplianceReport } from '../agent/audit/assess-types.js';
import { manifestSummary as policyManifestSummary } from '../agent/policy/manifest.js';
import type { Manifest } from '../agent/policy/manifest-types.js';
import type { Companion } from './client.js';
import { patchFromArgs, type ParsedArgs } from './cli-args.js';
import { describe, manifestSummary, toJsonable } from './cli-format.js';
import { writePrivate } from './cli-keyfile.js';
import { exportToCsv, exportToJson } from './export-format.js';

/** The companion's actions on a connected device: each prints what the device signed, in words or as JSON. */
export interface Io { out: (text: string) => void; err: (text: string) => void }

export async function runDeviceAction(action: string, companion: Companion, args: ParsedArgs, io: Io): Promise<number> {
  const options = requestOptions(args);
  switch (action) {
    case 'manifest': {
      const manifest = await companion.manifest(options);
      const text = isPolicyManifest(manifest) ? policyManifestSummary(manifest) : describe(manifest, '  ');
      return print(io, args, manifest, `Signed privacy manifest of ${companion.deviceId} (signature verified)\n${text}${text.endsWith('\n') ? '' : '\n'}`);
    }
    case 'label': {
      const manifest = await companion.manifest(options);
      const text = isPolicyManifest(manifest) ? privacyLabelText(manifest) : manifestSummary(manifest);
      return print(io, args, manifest, `${text}${text.endsWith('\n') ? '' : '\n'}`);
    }
    case 'get': return printReply(io, args, await companion.getState(options));
    case 'set': {
      const patch = patchFromArgs(args.positional, args.flags['patch'], args.switches.has('accept-manifest'));
      const reply = await companion.setPreferences(patch, options);
      return printReply(io, args, reply, undefined, notInForce(patch, reply.enforced));
    }
    case 'reset': return printReply(io, args, await companion.reset(options));
    case 'erase': {
      const { category, user } = args.flags;
      if (category !== undefined && user !== undefined) throw new TrustError('INVALID_ARGUMENT', 'erase takes --category or --user, not both');
      const reply = user !== undefined ? companion.eraseUser(user, options)
        : category !== undefined ? companion.eraseCategory(category, options) : companion.eraseAll(options);
      return printReply(io, args, await reply);
    }
    case 'export': {
      const out = args.flags['out'];
      const format = out === undefined ? undefined : exportFormat(out);
      const { reply, data } = await companion.exportData(options);
      if (out !== undefined && format !== undefined) await writePrivate(out, format === 'json' ? utf8(exportToJson(data)) : format === 'csv' ? utf8(exportToCsv(data)) : data);
      return printReply(io, args, reply, out === undefined ? data : undefined, out === undefined ? undefined : `  export written to ${out} (${format?.toUpperCase()}, mode 0600)\n`);
    }
    case 'transfer': return printReply(io, args, await companion.transfer(options));
    case 'audit': return auditAction(companion, args, io);
    case 'report': {
      const report = await companion.fetchReport(options);
      return print(io, args, report, args.switches.has('markdown') ? complianceToMarkdown(report) : reportText(report));
    }
    case 'consent': {
      if (args.positional.length === 0) throw new TrustError('INVALID_ARGUMENT', 'consent needs at least one category');
      return printReply(io, args, await companion.acceptTerms(args.positional, options));
    }
    case 'watch': return watch(companion, args, io);
    default: throw new TrustError('INVALID_ARGUMENT', `unknown action '${action}'`);
  }
}

/** Fetch, verify and (with --out) save the trail; a trail that does not verify is a failure (exit 1). */
async function auditAction(companion: Companion, args: ParsedArgs, io: Io): Promise<number> {
  const { trail, verification } = await companion.fetchVerifiedAuditTrail(requestOptions(args));
  const out = args.flags['out'];
  if (out !== undefined) await writeFile(out, trail);
  const verdict = verification.ok
    ? `verified: ${verification.entries} entries, ${verification.checkpoints} signed checkpoints`
    : `DOES NOT VERIFY: ${verification.firstBreak?.kind ?? 'corrupt'} at entry ${verification.firstBreak?.index ?? '?'}`;
  const human = `Audit trail of ${companion.deviceId}: ${trail.length} bytes, ${verdict}${out === undefined ? '' : `; saved to ${out}`}\n`;
  const result = { bytes: trail.length, entries: verification.entries, checkpoints: verification.checkpoints,
    ...(verification.firstBreak === undefined ? {} : { firstBreak: verification.firstBreak }), ...(out === undefined ? {} : { savedTo: out }) };
  io.out(args.switches.has('json') ? `${JSON.stringify({ ok: verification.ok, result: toJsonable(result) })}\n` : human);
  return verification.ok ? 0 : 1;
}

function reportText(report: ComplianceReport): string {
  const rows = report.rows.map((row) => `  ${row.id.padEnd(4)} ${row.status.padEnd(15)} ${row.title}${row.note === undefined ? '' : ` (${row.note})`}`);
  const mode = report.mode === 'normal' ? 'normal' : `DEGRADED: ${report.security.reasons.join('; ')}`;
  return `Self-assessment of ${report.device.id} (${report.device.type}), signed by the device; mode ${mode}\n`
    + `${report.summary.met} met, ${report.summary.notMet} not met, ${report.summary.notApplicable} not applicable\n${rows.join('\n')}\n`;
}

async function printReply(io: Io, args: ParsedArgs, reply: AcceptedReply, exported?: Uint8Array, note?: string | NotInForce[]): Promise<number> {
  if (reply.receipt !== undefined && args.flags['receipt-out'] !== undefined) await writeFile(args.flags['receipt-out'], reply.receipt);
  const { receipt, export: sealed, ...rest } = reply;
  void sealed;
  const verifiedReceipt = receipt === undefined ? undefined : verifyQuiet(receipt);
  const pending = Array.isArray(note) && note.length > 0 ? note : undefined;
  const summary = {
    ...rest, ...(verifiedReceipt === undefined ? {} : { receipt: verifiedReceipt }), ...(exported === undefined ? {} : { exported: tryCbor(exported) }),
    ...(pending === undefined ? {} : { notInForce: pending }),
  };
  const headline = pending === undefined ? `${reply.kind}: accepted and in force, preferences version ${reply.version}\n`
    : `${reply.kind}: saved as preferences version ${reply.version}, but NOT in force yet:\n${pending.map((p) => `  ${p.category}: you chose ${p.wanted}, the device enforces ${p.enforced}: ${p.why}\n`).join('')}`;
  const human = `${headline}${typeof note === 'string' ? note : ''}${describe({ enforced: reply.enforced }, '  ')}`
    + (verifiedReceipt === undefined ? '' : `  receipt (signed by the device):\n${describe(verifiedReceipt, '    ')}`)
    + (exported === undefined ? '' : `  exported data:\n${describe(tryCbor(exported), '    ')}`);
  return print(io, args, summary, human);
}

/** The policy module's manifest (format 1); anything else is shown field by field rather than guessed at. */
function isPolicyManifest(value: unknown): value is Manifest {
  const m = value as Partial<Manifest> | null;
  return m !== null && typeof m === 'object' && m.format === 1 && Array.isArray(m.categories) && typeof m.protection === 'object';
}

function verifyQuiet(receipt: Uint8Array): unknown {
  // Already verified by the companion as part of the signed reply; decoded here for display.
  const outer = decodeCbor(receipt, { maxBytes: 1 << 20, maxDepth: 4 }) as { b: Uint8Array };
  return decodeCbor(outer.b, { maxBytes: 1 << 20, maxDepth: 12 });
}

function tryCbor(bytes: Uint8Array): unknown {
  try { return decodeCbor(bytes, { maxBytes: 16 << 20, maxDepth: 16 }); } catch { return bytes; }
}

export function print(io: Io, args: ParsedArgs, value: unknown, human: string): number {
  io.out(args.switches.has('json') ? `${JSON.stringify({ ok: true, result: toJsonable(value) })}\n` : human);
  return 0;
}

async function watch(companion: Companion, args: ParsedArgs, io: Io): Promise<number> {
  const limit = args.flags['count'] === undefined ? Infinity : Number(args.flags['count']);
  let seen = 0;
  await new Promise<void>((resolve) => {
    const stop = companion.watchState((state) => {
      seen += 1;
      if (args.switches.has('json')) io.out(`${JSON.stringify(toJsonable(state))}\n`);
      else io.out(`state v${state.version} at ${new Date(state.issuedAt).toISOString()} (paired: ${state.paired}, signature verified)\n${describe(state.enforced, '  ')}`);
      if (seen >= limit) { stop(); resolve(); }
    });
    process.once('SIGINT', () => { stop(); resolve(); });
  });
  return 0;
}


/** A category the owner set that the device (rightly) does not enforce yet, and why. */
export interface NotInForce { category: string; wanted: string; enforced: string; why: string }

/** Compares the settings a patch asked for with the enforced state the device signed in its reply. */
export function notInForce(patch: Record<string, unknown>, enforced: unknown): NotInForce[] {
  const state = (enforced ?? {}) as { manifestReviewed?: unknown; categories?: Record<string, { setting?: unknown; pendingConsent?: unknown }> };
  const asked = (patch['categories'] ?? {}) as Record<string, { setting?: unknown } | string>;
  const out: NotInForce[] = [];
  for (const [category, entry] of Object.entries(asked)) {
    const wanted = typeof entry === 'string' ? entry : entry.setting;
    const now = state.categories?.[category];
    if (typeof wanted !== 'string' || now === undefined || now.setting === wanted) continue;
    const why = state.manifestReviewed === false
      ? 'the manifest has not been reviewed; until you accept it (companion set --accept-manifest) only essential data is collected'
      : now.pendingConsent === true ? `an update waits for your consent (companion consent ${category})` : 'the device keeps to the terms you have accepted';
    out.push({ category, wanted, enforced: String(now.setting), why });
  }
  return out;
}

/** `export --out` writes what the file name says. */
export function exportFormat(path: string): 'json' | 'csv' | 'cbor' {
  const ext = /\.([a-z]+)$/i.exec(path)?.[1]?.toLowerCase();
  if (ext === 'json' || ext === 'csv' || ext === 'cbor') return ext;
  throw new TrustError('INVALID_ARGUMENT', `--out ${path}: name the file .json, .csv or .cbor (the format written)`);
}

function utf8(text: string): Uint8Array {
  return utf8Encode(text);
}

export function requestOptions(args: ParsedArgs): { timeoutMs?: number; expectedVersion?: number } {
  const options: { timeoutMs?: number; expectedVersion?: number } = {};
  if (args.flags['timeout'] !== undefined) options.timeoutMs = positive(args.flags['timeout'], '--timeout');
  if (args.flags['expected-version'] !== undefined) options.expectedVersion = Number(args.flags['expected-version']);
  return options;
}

export function positive(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new TrustError('INVALID_ARGUMENT', `${name} must be a positive number`);
  return n;
}
