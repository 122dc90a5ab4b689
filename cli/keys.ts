import { mkdir, open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { fromHex, keyId, toHex } from '../agent/crypto/keys.js';
import { signRecipientRotation } from '../agent/crypto/rotation.js';
import { isTrustError, TrustError } from '../agent/errors.js';
import { assertDeviceId, topics } from '../agent/topics.js';
import { HELP_OPTION, parseCli } from './args.js';

export const KEYS_USAGE = `trust-agent keys [collector|root|rotation] [options]

Keys for provisioning and rotation (docs/architecture.md, "Provisioning" and "Key rotation"):
  collector   (default) the collector's X25519 key pair: devices seal their telemetry to the public key, which the
              firmware is built with (AgentConfig.recipientPublicKey); the secret key stays on the collector
  root        the vendor's Ed25519 trust root: it signs collector key rotations; the firmware is built with the
              public key (AgentConfig.trustRootPublicKey); keep the secret key offline
  rotation    sign a collector key rotation with the root: --root FILE --recipient FILE|HEX --serial N [--device ID]
              writes the signed message to --out FILE (default rotation-<serial>.cbor); publish it retained (QoS 1)
              on ta/v1/<deviceId>/keys/recipient while the collector holds both keys (the overlap)

collector and root write <name>.key (the secret key in hex, mode 0600) and <name>.pub (the public key, 64 hex
digits, mode 0644) and print the public key. An existing file is never overwritten.

Options:
  --out PATH        collector, root: directory (default: the current one; created with mode 0700); rotation: file
  --name NAME       file name stem (default: the kind, e.g. collector.key and collector.pub)
  --root FILE       rotation: the trust root's secret key file (root.key)
  --recipient KEY   rotation: the collector's next public key, a .pub file or 64 hex digits
  --serial N        rotation: higher than every rotation issued before (devices apply only a higher serial)
  --device ID       rotation: only this device applies it (default: any device of the fleet)
  --json            print a JSON summary instead of text
  -h, --help        this text

Exit status: 0 written, 1 a file exists, cannot be read or written, 2 usage error.
`;

const OPTIONS = {
  out: { type: 'string' }, name: { type: 'string' }, root: { type: 'string' }, recipient: { type: 'string' }, serial: { type: 'string' },
  device: { type: 'string' }, json: { type: 'boolean' }, ...HELP_OPTION,
} as const;
type Values = { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'string' ? string : boolean };
type Kind = 'collector' | 'root' | 'rotation';

interface Io { out(text: string): void; err(text: string): void }
const stdio: Io = { out: (t) => void process.stdout.write(t), err: (t) => void process.stderr.write(t) };

export async function runKeysCli(argv: string[], io: Io = stdio): Promise<number> {
  let kind: Kind;
  let values: Values;
  try {
    const parsed = parseCli(argv, OPTIONS, { maxPositionals: 1 });
    values = parsed.values;
    kind = checkKind(parsed.positionals[0] ?? 'collector', values);
  } catch (error) {
    if (!isTrustError(error, 'INVALID_ARGUMENT')) throw error;
    io.err(`trust-agent keys: ${error.message}\n\n${KEYS_USAGE}`);
    return 2;
  }
  if (values.help === true) {
    io.out(KEYS_USAGE);
    return 0;
  }
  try {
    return kind === 'rotation' ? await rotation(values, io) : await keyPair(kind, values, io);
  } catch (error) {
    io.err(`trust-agent keys: ${(error as Error).message}\n`);
    return isTrustError(error, 'INVALID_ARGUMENT') ? 2 : 1;
  }
}

function checkKind(given: string, values: Values): Kind {
  if (given !== 'collector' && given !== 'root' && given !== 'rotation') throw new TrustError('INVALID_ARGUMENT', `unknown kind '${given}': collector, root or rotation`);
  if (values.name !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(values.name)) throw new TrustError('INVALID_ARGUMENT', '--name must be 1-64 of A-Z a-z 0-9 . _ -');
  const rotationOnly = (['root', 'recipient', 'serial', 'device'] as const).filter((o) => values[o] !== undefined);
  if (given !== 'rotation' && rotationOnly.length > 0) throw new TrustError('INVALID_ARGUMENT', `--${rotationOnly[0] ?? ''} is an option of 'keys rotation'`);
  if (given === 'rotation' && values.help !== true && (values.root === undefined || values.recipient === undefined || values.serial === undefined)) {
    throw new TrustError('INVALID_ARGUMENT', 'rotation needs --root FILE, --recipient KEY and --serial N');
  }
  return given;
}

async function keyPair(kind: 'collector' | 'root', values: Values, io: Io): Promise<number> {
  const dir = values.out ?? '.';
  const stem = join(dir, values.name ?? kind);
  const pair = kind === 'collector' ? nacl.box.keyPair() : nacl.sign.keyPair();
  await mkdir(dir, { recursive: true, mode: 0o700 });
  for (const file of [`${stem}.key`, `${stem}.pub`]) await refuseExisting(file);
  await writeNew(`${stem}.key`, `${toHex(pair.secretKey)}\n`, 0o600);
  await writeNew(`${stem}.pub`, `${toHex(pair.publicKey)}\n`, 0o644);
  const summary = { kind, publicKey: toHex(pair.publicKey), keyId: toHex(keyId(pair.publicKey)), secretKeyFile: `${stem}.key`, publicKeyFile: `${stem}.pub` };
  io.out(values.json === true ? `${JSON.stringify(summary)}\n`
    : `${kind === 'collector' ? 'Collector X25519' : 'Trust root Ed25519'} key pair written: ${summary.secretKeyFile} (secret, mode 0600), ${summary.publicKeyFile}\n`
      + `public key ${summary.publicKey}\nkey id     ${summary.keyId}\n`);
  return 0;
}

async function rotation(values: Values, io: Io): Promise<number> {
  const serial = Number(values.serial);
  if (!Number.isSafeInteger(serial) || serial < 1) throw new TrustError('INVALID_ARGUMENT', '--serial must be a whole number from 1');
  if (values.device !== undefined) assertDeviceId(values.device);
  const rootKey = fromHex((await readFile(values.root ?? '', 'utf8')).trim(), '--root');
  const recipientText = /^[0-9a-fA-F]{64}$/.test(values.recipient ?? '') ? values.recipient ?? '' : (await readFile(values.recipient ?? '', 'utf8')).trim();
  const recipientPublicKey = fromHex(recipientText, '--recipient');
  const signed = signRecipientRotation({
    recipientPublicKey, serial, issuedAt: Date.now(), ...(values.device === undefined ? {} : { deviceId: values.device }),
  }, rootKey);
  const out = values.out ?? `rotation-${serial}.cbor`;
  await refuseExisting(out);
  await writeNew(out, signed, 0o644);
  const topic = topics.recipientKey(values.device ?? '<deviceId>');
  const summary = { file: out, serial, recipientKeyId: toHex(keyId(recipientPublicKey)), rootKeyId: toHex(keyId(rootKey.subarray(32))), topic };
  io.out(values.json === true ? `${JSON.stringify(summary)}\n`
    : `Rotation to collector key ${summary.recipientKeyId} (serial ${serial}) signed by root ${summary.rootKeyId}: ${out}\n`
      + `Publish it retained with QoS 1 on ${topic}, while the collector holds both keys.\n`);
  return 0;
}

async function refuseExisting(path: string): Promise<void> {
  if (await stat(path).then(() => true, () => false)) throw new Error(`${path} exists: keys are never overwritten (move it away first)`);
}

/** Creates the file exclusively (never replaces a key) with its final mode from the first byte on. */
async function writeNew(path: string, data: string | Uint8Array, mode: number): Promise<void> {
  let handle;
  try {
    handle = await open(path, 'wx', mode);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new Error(`${path} exists: keys are never overwritten (move it away first)`);
    throw new Error(`cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    await handle.chmod(mode); // the process umask may have narrowed or widened the mode given to open
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
