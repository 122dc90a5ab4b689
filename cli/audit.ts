import { readFile, writeFile } from 'node:fs/promises';
import { fromHex, keyId, toHex } from '../agent/crypto/keys.js';
import { isTrustError, TrustError } from '../agent/errors.js';
import { assessCompliance } from '../agent/audit/assess.js';
import type { AssessmentInput, ComplianceReport } from '../agent/audit/assess-types.js';
import type { AuditEntry } from '../agent/audit/format.js';
import { privacyLabelHtml } from '../agent/audit/label-html.js';
import { privacyLabelText } from '../agent/audit/label-text.js';
import { complianceToJson, complianceToMarkdown } from '../agent/audit/report.js';
import { verifyTrail, type VerifyResult } from '../agent/audit/verify.js';
import type { Manifest } from '../agent/policy/manifest-types.js';
import { HELP_OPTION, parseCli, type OptionSpecs, type ParsedCli } from './args.js';

const USAGE = `trust-agent audit <action> [options]

Actions:
  verify <trail-file> --key <hex>   check an exported audit trail (or the device's audit/trail.log) against the
                                    device's Ed25519 signing public key (64 hex digits)
      --previous-key <hex>          also trust checkpoints of an earlier device key (repeatable)
      --entries                     list the verified entries
      --json                        machine-readable result
  report <file.json>                render a self-assessment: the file holds an AssessmentInput or a finished report
      --json | --markdown           output format (default: markdown)
  label <manifest.json>             print the owner-readable privacy label of a manifest
      --html | --text               output format (default: text)
      --out <file>                  write to a file instead of standard output

Exit status: 0 verified / rendered, 1 the trail does not verify or the input is unusable, 2 usage error.
`;

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

const processIo: CliIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

/** Each action knows its own options: an option of another action is refused, not ignored. */
const ACTION_OPTIONS = {
  verify: { key: { type: 'string' }, 'previous-key': { type: 'string', multiple: true }, entries: { type: 'boolean' }, json: { type: 'boolean' }, ...HELP_OPTION },
  report: { json: { type: 'boolean' }, markdown: { type: 'boolean' }, ...HELP_OPTION },
  label: { html: { type: 'boolean' }, text: { type: 'boolean' }, out: { type: 'string' }, ...HELP_OPTION },
} as const satisfies Record<string, OptionSpecs>;

type Action = keyof typeof ACTION_OPTIONS;
type Parsed<A extends Action> = ParsedCli<(typeof ACTION_OPTIONS)[A]>;

export async function runAuditCli(argv: string[], io: CliIo = processIo): Promise<number> {
  const [action, ...rest] = argv;
  if (action === undefined || action === '--help' || action === '-h' || action === 'help') {
    io.out(USAGE);
    return action === undefined ? 2 : 0;
  }
  if (!Object.hasOwn(ACTION_OPTIONS, action)) {
    io.err(`trust-agent audit: unknown action '${action}'\n\n${USAGE}`);
    return 2;
  }
  try {
    switch (action as Action) {
      case 'verify': return await withHelp(parseCli(rest, ACTION_OPTIONS.verify, { maxPositionals: 1 }), io, verifyCommand);
      case 'report': return await withHelp(parseCli(rest, ACTION_OPTIONS.report, { maxPositionals: 1 }), io, reportCommand);
      case 'label': return await withHelp(parseCli(rest, ACTION_OPTIONS.label, { maxPositionals: 1 }), io, labelCommand);
    }
  } catch (error) {
    if (!isTrustError(error, 'INVALID_ARGUMENT')) throw error;
    return usage(io, `${action}: ${error.message}`);
  }
}

async function withHelp<P extends { values: { help?: boolean } }>(args: P, io: CliIo, run: (args: P, io: CliIo) => Promise<number>): Promise<number> {
  if (args.values.help === true) {
    io.out(USAGE);
    return 0;
  }
  return run(args, io);
}

function usage(io: CliIo, message: string): number {
  io.err(`trust-agent audit: ${message}\n\n${USAGE}`);
  return 2;
}

async function readInput(io: CliIo, path: string): Promise<Uint8Array | undefined> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (error) {
    io.err(`trust-agent audit: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}\n`);
    return undefined;
  }
}

function publicKeyArg(hex: string, name: string): Uint8Array {
  const key = fromHex(hex, name);
  if (key.length !== 32) throw new TrustError('INVALID_ARGUMENT', `${name} must be 32 bytes (64 hex digits)`);
  return key;
}

async function verifyCommand(args: Parsed<'verify'>, io: CliIo): Promise<number> {
  const [file] = args.positionals;
  const keyHex = args.values.key;
  if (file === undefined || keyHex === undefined) return usage(io, 'verify needs <trail-file> and --key <hex>');
  let key: Uint8Array;
  let previousKeys: Uint8Array[];
  try {
    key = publicKeyArg(keyHex, '--key');
    previousKeys = (args.values['previous-key'] ?? []).map((h) => publicKeyArg(h, '--previous-key'));
  } catch (error) {
    return usage(io, (error as Error).message);
  }
  const bytes = await readInput(io, file);
  if (bytes === undefined) return 1;
  const result = verifyTrail(bytes, key, { previousKeys });
  if (args.values.json === true) io.out(`${JSON.stringify(verifyResultJson(result), null, 2)}\n`);
  else io.out(describeVerify(file, key, result, args.values.entries === true));
  return result.ok ? 0 : 1;
}

function entryJson(e: AuditEntry): Record<string, unknown> {
  return { index: e.index, at: e.at, type: e.type, details: e.details, hash: toHex(e.hash), prev: toHex(e.prev) };
}

export function verifyResultJson(result: VerifyResult): Record<string, unknown> {
  return { ...result, trusted: result.trusted.map(entryJson) };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function describeVerify(file: string, key: Uint8Array, r: VerifyResult, listEntries: boolean): string {
  const lines = [
    `audit trail  ${file}`,
    `signing key  ${toHex(keyId(key))} (key id)`,
    `entries      ${r.entries} read, ${r.verifiedEntries} verified`,
    `checkpoints  ${r.checkpoints}`,
    `head         ${r.head === undefined ? 'none signed' : `#${r.head.index} ${r.head.hash} signed ${iso(r.head.at)}`}`,
    `base         ${r.base === undefined ? 'none (the trail starts at entry 0)' : `#${r.base.index} ${r.base.hash} (older entries trimmed)`}`,
  ];
  if (r.ok) lines.push('result       OK: the chain is intact and every entry is covered by a signed checkpoint');
  else if (r.firstBreak !== undefined) {
    lines.push(`result       BROKEN at entry ${r.firstBreak.index}: ${r.firstBreak.kind}`, `             ${r.firstBreak.detail}`);
    lines.push(`             entries from ${r.firstBreak.index} on are not trusted`);
  }
  if (r.ok && r.head !== undefined) {
    lines.push('note         a cut-off tail cannot be seen in the trail alone: compare the head with one you saw earlier');
  }
  if (listEntries) {
    lines.push('', 'verified entries:');
    for (const e of r.trusted) {
      const details = Object.entries(e.details).map(([k, v]) => `${k}=${String(v)}`).join(' ');
      lines.push(`  #${String(e.index).padEnd(5)} ${iso(e.at)}  ${e.type.padEnd(18)} ${details}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

async function readJson(io: CliIo, path: string): Promise<unknown> {
  const bytes = await readInput(io, path);
  if (bytes === undefined) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as unknown;
  } catch {
    io.err(`trust-agent audit: ${path} is not valid JSON\n`);
    return undefined;
  }
}

async function reportCommand(args: Parsed<'report'>, io: CliIo): Promise<number> {
  const [file] = args.positionals;
  if (file === undefined) return usage(io, 'report needs <file.json>');
  const input = await readJson(io, file);
  if (input === undefined || input === null || typeof input !== 'object') return 1;
  let report: ComplianceReport;
  try {
    report = 'rows' in input ? (input as ComplianceReport) : assessCompliance(input as AssessmentInput);
  } catch {
    io.err(`trust-agent audit: ${file} is neither an AssessmentInput nor a ComplianceReport\n`);
    return 1;
  }
  io.out(args.values.json === true ? complianceToJson(report) : complianceToMarkdown(report));
  return 0;
}

async function labelCommand(args: Parsed<'label'>, io: CliIo): Promise<number> {
  const [file] = args.positionals;
  if (file === undefined) return usage(io, 'label needs <manifest.json>');
  const manifest = await readJson(io, file);
  if (manifest === undefined || manifest === null || typeof manifest !== 'object' || !Array.isArray((manifest as Manifest).categories)) {
    io.err(`trust-agent audit: ${file} is not a privacy manifest\n`);
    return 1;
  }
  let text: string;
  try {
    text = args.values.html === true ? privacyLabelHtml(manifest as Manifest) : privacyLabelText(manifest as Manifest);
  } catch {
    io.err(`trust-agent audit: ${file} is not a complete privacy manifest\n`);
    return 1;
  }
  const out = args.values.out;
  if (out === undefined) io.out(text);
  else await writeFile(out, text);
  return 0;
}
