import { readFile } from 'node:fs/promises';
import { nodeMqttTransport } from '../agent/adapters/node/mqtt.js';
import { nodeLogger } from '../agent/adapters/node/logger.js';
import { nodeScheduler } from '../agent/adapters/node/scheduler.js';
import { systemClock } from '../agent/adapters/node/clock.js';
import { toHex } from '../agent/crypto/keys.js';
import { TrustError } from '../agent/errors.js';
import { decodePairingPayload } from '../agent/owner/pairing.js';
import { createCompanion, noReplyOf, type Companion } from './client.js';
import { print, positive, requestOptions, runDeviceAction, type Io } from './cli-actions.js';
import { parseArgs, type ParsedArgs } from './cli-args.js';
import { confirmDestructive } from './cli-confirm.js';
import { describe } from './cli-format.js';
import { keygen, keyPathOf, loadKeyFile, pickDevice, saveKeyFile } from './cli-keyfile.js';
import type { KnownDevice, OwnerKeyFile } from './keys.js';

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
  erase [--category C|--user U] erase all user data (and RESET preferences), one category, or one person's data
  export [--out FILE]           export your data (sealed to your key, opened here); FILE.json, FILE.csv or FILE.cbor
                                is written in that format, mode 0600
  transfer                      hand the device over: it erases data, rotates keys and forgets this owner
  audit [--out FILE]            fetch the audit trail of privacy decisions and verify it against the device key
  report [--markdown]           fetch the device's signed self-assessment (R1-R14) and show it
  verify-receipt <FILE>         verify a saved receipt against the device key and show it
  serve [--port N] [--host H]   serve the companion web app (default http://127.0.0.1:8787/) until Ctrl-C;
                                --broker wss://... pre-fills the broker address in the printed link

Options:
  --broker URL          mqtts://host:port (or env TA_BROKER); plaintext needs --insecure. Remembered per device
                        at pairing (with --ca), so later commands need neither
  --ca FILE             CA certificate (PEM) that signed the broker certificate
  --insecure            allow a plaintext or unverified broker connection (explicit opt-in)
  --device ID           the device (default: the only device in the key file)
  --key-file FILE       owner key file (default ./owner-key.json or env TA_KEY_FILE)
  --receipt-out FILE    save the signed receipt of erase/export/transfer/reset
  --timeout MS          how long to wait for the device (default 10000)
  --yes                 confirm erase, transfer and reset without asking (for scripts; without a terminal
                        and without --yes they are refused)
  --json                machine-readable output (one JSON document)
  --help                this text

A 'set' the device saves but does not enforce yet (before the manifest review, or while an update waits for
consent) says so and names what is enforced instead.

Exit status: 0 done; 1 refused by the device or failed; 2 usage error; 3 sent, but the device did not answer in
time (offline): the broker keeps the request and the device applies it when it reconnects within the request's
lifetime (10 minutes); check with 'companion get' or 'companion watch'.
`;

const stdio: Io = { out: (t) => void process.stdout.write(t), err: (t) => void process.stderr.write(t) };

/** Exit status: the device did not answer in time (see the usage text). */
export const EXIT_NO_ANSWER = 3;

/** Entry point for `trust-agent companion ...`. Returns the exit code: 0 done, 1 refused or failed, 2 usage, 3 no answer. */
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
    const noReply = noReplyOf(error);
    if (noReply?.sent === true) return waiting(args, io, noReply.deviceStatus);
    const code = error instanceof TrustError ? error.code : 'ERROR';
    const message = error instanceof Error ? error.message : String(error);
    if (args.switches.has('json')) io.out(`${JSON.stringify({ ok: false, code, message, ...rejectionExtras(error) })}\n`);
    else io.err(`companion ${args.action}: [${code}] ${message}\n`);
    return code === 'INVALID_ARGUMENT' ? 2 : 1;
  }
}

const CHANGES = new Set(['set', 'reset', 'consent', 'erase', 'transfer']);

/** The request reached the broker but the device did not answer: say what happens next, exit 3. */
function waiting(args: ParsedArgs, io: Io, status: string): number {
  const action = args.action ?? '';
  const offline = status === 'offline' ? 'the device is offline (its last status says so)' : 'the device did not answer in time';
  const next = CHANGES.has(action)
    ? 'The broker keeps the request: the device applies it when it reconnects, if within 10 minutes (the request expires after that and changes nothing). Check with \'companion get\' or \'companion watch\'.'
    : 'Nothing was changed. Try again when the device is online.';
  if (args.switches.has('json')) io.out(`${JSON.stringify({ ok: false, code: 'WAITING_FOR_DEVICE', sent: true, deviceStatus: status, message: `${offline}. ${next}` })}\n`);
  else io.err(`companion ${action}: sent, but ${offline}. ${next}\n`);
  return EXIT_NO_ANSWER;
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
  const keyPath = keyPathOf(args);
  if (action === 'keygen') return keygen(keyPath, args.switches.has('json'), io.out);
  const keyFile = await loadKeyFile(keyPath, action === 'pair');
  if (action === 'verify-receipt') return verifyReceiptFile(keyFile, args, io);
  const payload = action === 'pair' ? decodePairingPayload(required(args.positional[0], 'pair needs the ta1: pairing payload')) : undefined;
  const deviceId = payload?.deviceId ?? pickDevice(keyFile, args.flags['device']);
  if (action === 'erase' && args.flags['category'] !== undefined && args.flags['user'] !== undefined) {
    throw new TrustError('INVALID_ARGUMENT', 'erase takes --category or --user, not both');
  }
  await confirmDestructive(action, args.flags, args.switches.has('yes'), io.err);
  const known = keyFile.devices[deviceId];
  const endpoint = await endpointOf(args, payload === undefined ? known : undefined);
  const companion = await connect(args, endpoint, keyFile, deviceId, known);
  try {
    if (payload !== undefined) {
      const result = await companion.pair(payload);
      keyFile.devices[deviceId] = {
        deviceType: payload.deviceType, ...result.devicePublicKeys, broker: endpoint.url,
        ...(endpoint.caPem === undefined ? {} : { caPem: endpoint.caPem }), ...(endpoint.insecure ? { insecure: true } : {}),
      };
      await saveKeyFile(keyPath, keyFile);
      return print(io, args, { deviceId, deviceType: payload.deviceType, ownerKeyId: result.ownerKeyId, pairedAt: result.pairedAt, broker: endpoint.url },
        `Paired with ${deviceId} (${payload.deviceType}). Owner key ${toHex(result.ownerKeyId)}, the device's keys, broker ${endpoint.url}${endpoint.caPem === undefined ? '' : ' and its CA'} saved in ${keyPath}.\n`);
    }
    return await runDeviceAction(action, companion, args, io);
  } finally {
    await companion.close();
  }
}

interface Endpoint { url: string; caPem: string | undefined; insecure: boolean }

/** --broker / --ca / --insecure when given; otherwise what pairing remembered for this device; then TA_BROKER. */
async function endpointOf(args: ParsedArgs, known: KnownDevice | undefined): Promise<Endpoint> {
  const url = args.flags['broker'] ?? known?.broker ?? process.env['TA_BROKER'];
  if (url === undefined) throw new TrustError('INVALID_ARGUMENT', 'give --broker URL (or set TA_BROKER); after pairing it is remembered');
  const given = args.flags['broker'] !== undefined;
  const caPem = args.flags['ca'] !== undefined ? await readFile(args.flags['ca'], 'utf8') : given ? undefined : known?.caPem;
  return { url, caPem, insecure: args.switches.has('insecure') || (!given && known?.insecure === true) };
}

async function connect(args: ParsedArgs, endpoint: Endpoint, keyFile: OwnerKeyFile, deviceId: string, known: KnownDevice | undefined): Promise<Companion> {
  const transport = nodeMqttTransport({
    url: endpoint.url, logger: nodeLogger({ level: 'warn' }), maxIncomingPayloadBytes: 4 * 1024 * 1024, allowInsecureTransport: endpoint.insecure,
    ...(endpoint.caPem === undefined ? {} : { ca: endpoint.caPem }),
  });
  return createCompanion({
    transport, ownerKeys: keyFile.keys, deviceId, clock: systemClock(), scheduler: nodeScheduler({ unref: false }),
    ...(known === undefined ? {} : { devicePublicKeys: { signPublicKey: known.signPublicKey, boxPublicKey: known.boxPublicKey } }),
    ...(args.flags['timeout'] === undefined ? {} : { timeoutMs: positive(args.flags['timeout'], '--timeout') }),
  });
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

