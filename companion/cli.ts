import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import { nodeMqttTransport } from '../agent/adapters/node/mqtt.js';
import { nodeLogger } from '../agent/adapters/node/logger.js';
import { nodeScheduler } from '../agent/adapters/node/scheduler.js';
import { systemClock } from '../agent/adapters/node/clock.js';
import { decodeCbor } from '../agent/codec/cbor.js';
import { toHex } from '../agent/crypto/keys.js';
import { TrustError } from '../agent/errors.js';
import { decodePairingPayload } from '../agent/owner/pairing.js';
import type { AcceptedReply } from '../agent/owner/replies.js';
import { privacyLabelText } from '../agent/audit/label-text.js';
import { complianceToMarkdown } from '../agent/audit/report.js';
import type { ComplianceReport } from '../agent/audit/assess-types.js';
import { manifestSummary as policyManifestSummary } from '../agent/policy/manifest.js';
import type { Manifest } from '../agent/policy/manifest-types.js';
import { createCompanion, type Companion } from './client.js';
import { parseArgs, patchFromArgs, type ParsedArgs } from './cli-args.js';
import { describe, manifestSummary, toJsonable } from './cli-format.js';
import { decodeOwnerKeyFile, encodeOwnerKeyFile, generateOwnerKeys, type OwnerKeyFile } from './keys.js';

export const COMPANION_USAGE = `trust-agent companion <action> [options]

Actions:
  keygen                        create the owner key file (mode 0600) unless it exists
  pair <ta1:...>                pair with the device whose pairing payload (QR text) is given; remembers its keys
  manifest                      show the device's signed privacy manifest
  label                         show the privacy label (a summary of the manifest)
  get                           ask the device for its enforced state (signed) and show it
  set <cat>=<setting> ...       change preferences; also <cat>.level=L, <cat>.recipients=a,b, <cat>.retentionMs=N|null,
                                --patch JSON (the patch verbatim), --accept-manifest, --expected-version N
  reset                         restore the privacy-protective defaults
  consent <category> ...        accept the widened terms a policy update brought for these categories
  watch                         print every signed state report (--count N: stop after N)
  erase [--category C|--user U] erase all user data, one category, or one person's data (shared device)
  export [--out FILE]           export your data (sealed to your key, opened here); FILE gets mode 0600
  transfer                      hand the device over: it erases data, rotates keys and forgets this owner
  audit [--out FILE]            fetch the audit trail of privacy decisions and verify it against the device key
  report [--markdown]           fetch the device's signed self-assessment (R1-R14) and show it
  verify-receipt <FILE>         verify a saved receipt against the device key and show it
  serve [--port N] [--host H]   serve the companion web app (default http://127.0.0.1:8787/) until Ctrl-C;
                                --broker wss://... pre-fills the broker address in the printed link

Options:
  --broker URL          mqtts://host:port (or env TA_BROKER); plaintext needs --insecure
  --ca FILE             CA certificate (PEM) that signed the broker certificate
  --insecure            allow a plaintext or unverified broker connection (explicit opt-in)
  --device ID           the device (default: the only device in the key file)
  --key-file FILE       owner key file (default ./owner-key.json or env TA_KEY_FILE)
  --receipt-out FILE    save the signed receipt of erase/export/transfer/reset
  --timeout MS          how long to wait for the device (default 10000)
  --json                machine-readable output (one JSON document)
  --help                this text
`;

interface Io { out: (text: string) => void; err: (text: string) => void }
const stdio: Io = { out: (t) => void process.stdout.write(t), err: (t) => void process.stderr.write(t) };

/** Entry point for `trust-agent companion ...`. Returns the exit code: 0 done, 1 refused or failed, 2 usage. */
export async function runCompanionCli(argv: string[], io: Io = stdio): Promise<number> {
  let args: ParsedArgs;
  try {
    args = parseArgs(argv);
  } catch (error) {
    io.err(`trust-agent companion: ${(error as Error).message}\n\n${COMPANION_USAGE}`);
    return 2;
  }
  if (args.switches.has('help') || args.action === undefined) {
    io.out(COMPANION_USAGE);
    return args.action === undefined && !args.switches.has('help') ? 2 : 0;
  }
  try {
    return await runAction(args, io);
  } catch (error) {
    const code = error instanceof TrustError ? error.code : 'ERROR';
    const message = error instanceof Error ? error.message : String(error);
    if (args.switches.has('json')) io.out(`${JSON.stringify({ ok: false, code, message, ...rejectionExtras(error) })}\n`);
    else io.err(`companion ${args.action}: [${code}] ${message}\n`);
    return code === 'INVALID_ARGUMENT' ? 2 : 1;
  }
}

function rejectionExtras(error: unknown): Record<string, unknown> {
  const cause = (error as { cause?: { currentVersion?: unknown } } | undefined)?.cause;
  return typeof cause?.currentVersion === 'number' ? { currentVersion: cause.currentVersion } : {};
}

const ACTIONS = new Set(['serve', 'keygen', 'pair', 'manifest', 'label', 'get', 'set', 'reset', 'consent', 'watch', 'erase', 'export', 'transfer', 'audit', 'report', 'verify-receipt']);

async function runAction(args: ParsedArgs, io: Io): Promise<number> {
  const action = args.action ?? '';
  if (!ACTIONS.has(action)) throw new TrustError('INVALID_ARGUMENT', `unknown action '${action}' (see --help)`);
  if (action === 'serve') return (await import('./serve-cli.js')).serveAction(args.flags, io);
  const keyPath = args.flags['key-file'] ?? process.env['TA_KEY_FILE'] ?? 'owner-key.json';
  if (action === 'keygen') return keygen(keyPath, args, io);
  const keyFile = await loadKeyFile(keyPath, action === 'pair');
  if (action === 'verify-receipt') return verifyReceiptFile(keyFile, args, io);
  const payload = action === 'pair' ? decodePairingPayload(required(args.positional[0], 'pair needs the ta1: pairing payload')) : undefined;
  const deviceId = payload?.deviceId ?? pickDevice(keyFile, args.flags['device']);
  const known = keyFile.devices[deviceId];
  const companion = await connect(args, keyFile, deviceId, known);
  try {
    if (payload !== undefined) {
      const result = await companion.pair(payload);
      keyFile.devices[deviceId] = { deviceType: payload.deviceType, ...result.devicePublicKeys };
      await saveKeyFile(keyPath, keyFile);
      return print(io, args, { deviceId, deviceType: payload.deviceType, ownerKeyId: result.ownerKeyId, pairedAt: result.pairedAt },
        `Paired with ${deviceId} (${payload.deviceType}). Owner key ${toHex(result.ownerKeyId)} saved in ${keyPath}.\n`);
    }
    return await runDeviceAction(action, companion, args, io);
  } finally {
    await companion.close();
  }
}

async function runDeviceAction(action: string, companion: Companion, args: ParsedArgs, io: Io): Promise<number> {
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
      return printReply(io, args, await companion.setPreferences(patch, options));
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
      const { reply, data } = await companion.exportData(options);
      if (args.flags['out'] !== undefined) await writePrivate(args.flags['out'], data);
      return printReply(io, args, reply, args.flags['out'] === undefined ? data : undefined);
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

async function printReply(io: Io, args: ParsedArgs, reply: AcceptedReply, exported?: Uint8Array): Promise<number> {
  if (reply.receipt !== undefined && args.flags['receipt-out'] !== undefined) await writeFile(args.flags['receipt-out'], reply.receipt);
  const { receipt, export: sealed, ...rest } = reply;
  void sealed;
  const verifiedReceipt = receipt === undefined ? undefined : verifyQuiet(receipt);
  const summary = { ...rest, ...(verifiedReceipt === undefined ? {} : { receipt: verifiedReceipt }), ...(exported === undefined ? {} : { exported: tryCbor(exported) }) };
  const human = `${reply.kind}: accepted, preferences version ${reply.version}\n${describe({ enforced: reply.enforced }, '  ')}`
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

function print(io: Io, args: ParsedArgs, value: unknown, human: string): number {
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

function requestOptions(args: ParsedArgs): { timeoutMs?: number; expectedVersion?: number } {
  const options: { timeoutMs?: number; expectedVersion?: number } = {};
  if (args.flags['timeout'] !== undefined) options.timeoutMs = positive(args.flags['timeout'], '--timeout');
  if (args.flags['expected-version'] !== undefined) options.expectedVersion = Number(args.flags['expected-version']);
  return options;
}

async function connect(args: ParsedArgs, keyFile: OwnerKeyFile, deviceId: string, known: OwnerKeyFile['devices'][string] | undefined): Promise<Companion> {
  const url = args.flags['broker'] ?? process.env['TA_BROKER'];
  if (url === undefined) throw new TrustError('INVALID_ARGUMENT', 'give --broker URL (or set TA_BROKER)');
  const ca = args.flags['ca'] === undefined ? undefined : await readFile(args.flags['ca']);
  const transport = nodeMqttTransport({
    url, logger: nodeLogger({ level: 'warn' }), maxIncomingPayloadBytes: 4 * 1024 * 1024, allowInsecureTransport: args.switches.has('insecure'), ...(ca === undefined ? {} : { ca: new Uint8Array(ca) }),
  });
  return createCompanion({
    transport, ownerKeys: keyFile.keys, deviceId, clock: systemClock(), scheduler: nodeScheduler({ unref: false }),
    ...(known === undefined ? {} : { devicePublicKeys: known }),
    ...(args.flags['timeout'] === undefined ? {} : { timeoutMs: positive(args.flags['timeout'], '--timeout') }),
  });
}

function pickDevice(keyFile: OwnerKeyFile, given: string | undefined): string {
  if (given !== undefined) {
    if (keyFile.devices[given] === undefined) throw new TrustError('UNKNOWN_KEY', `device ${given} is not in the key file: pair with it first`);
    return given;
  }
  const ids = Object.keys(keyFile.devices);
  if (ids.length !== 1) throw new TrustError('INVALID_ARGUMENT', ids.length === 0 ? 'no paired device: run pair first' : `several paired devices (${ids.join(', ')}): give --device`);
  return ids[0] as string;
}

async function keygen(path: string, args: ParsedArgs, io: Io): Promise<number> {
  const existing = await readFile(path, 'utf8').catch(() => undefined);
  const file = existing === undefined ? { keys: generateOwnerKeys(), devices: {} } : decodeOwnerKeyFile(existing);
  if (existing === undefined) await saveKeyFile(path, file);
  return print(io, args, { keyFile: path, keyId: file.keys.keyId, created: existing === undefined },
    `${existing === undefined ? 'Created' : 'Kept existing'} owner key ${toHex(file.keys.keyId)} in ${path}\n`);
}

async function loadKeyFile(path: string, createIfMissing: boolean): Promise<OwnerKeyFile> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text !== undefined) return decodeOwnerKeyFile(text);
  if (!createIfMissing) throw new TrustError('UNKNOWN_KEY', `no key file at ${path}: run keygen or pair first`);
  const file = { keys: generateOwnerKeys(), devices: {} };
  await saveKeyFile(path, file);
  return file;
}

async function saveKeyFile(path: string, file: OwnerKeyFile): Promise<void> {
  await writePrivate(path, new TextEncoder().encode(encodeOwnerKeyFile(file)));
}

/** Secrets and personal data: written 0600 to a temporary name, then renamed, so no reader ever sees a partial file. */
async function writePrivate(path: string, data: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

async function verifyReceiptFile(keyFile: OwnerKeyFile, args: ParsedArgs, io: Io): Promise<number> {
  const file = required(args.positional[0], 'verify-receipt needs the receipt file');
  const device = keyFile.devices[pickDevice(keyFile, args.flags['device'])];
  if (device === undefined) throw new TrustError('UNKNOWN_KEY', 'device keys unknown');
  const { verifyReceiptBytes } = await import('./verify.js');
  const receipt = verifyReceiptBytes(new Uint8Array(await readFile(file)), device.signPublicKey);
  return print(io, args, receipt, `Receipt signature verified (device key ${toHex(device.signPublicKey).slice(0, 16)}...)\n${describe(receipt, '  ')}`);
}

function required(value: string | undefined, message: string): string {
  if (value === undefined) throw new TrustError('INVALID_ARGUMENT', message);
  return value;
}

function positive(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new TrustError('INVALID_ARGUMENT', `${name} must be a positive number`);
  return n;
}
