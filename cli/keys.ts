import { mkdir, open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { keyId, toHex } from '../agent/crypto/keys.js';
import { isTrustError, TrustError } from '../agent/errors.js';
import { HELP_OPTION, parseCli } from './args.js';

export const KEYS_USAGE = `trust-agent keys [collector] [options]

Makes a key pair for provisioning (docs/architecture.md, "Provisioning"):
  collector   (default) the collector's X25519 key pair: devices seal their telemetry to the public key, which the
              firmware is built with (AgentConfig.recipientPublicKey); the secret key stays on the collector

Writes <name>.key (the secret key, 64 hex digits, mode 0600) and <name>.pub (the public key, 64 hex digits, mode
0644) and prints the public key. An existing key file is never overwritten.

Options:
  --out DIR     directory for the files (default: the current directory; created with mode 0700 if missing)
  --name NAME   file name stem (default: the kind, e.g. collector.key and collector.pub)
  --json        print {"kind","publicKey","keyId","secretKeyFile","publicKeyFile"} instead of text
  -h, --help    this text

Exit status: 0 written, 1 a key file exists or cannot be written, 2 usage error.
`;

const OPTIONS = { out: { type: 'string' }, name: { type: 'string' }, json: { type: 'boolean' }, ...HELP_OPTION } as const;

interface Io { out(text: string): void; err(text: string): void }
const stdio: Io = { out: (t) => void process.stdout.write(t), err: (t) => void process.stderr.write(t) };

export async function runKeysCli(argv: string[], io: Io = stdio): Promise<number> {
  let kind: 'collector';
  let values: { out?: string; name?: string; json?: boolean; help?: boolean };
  try {
    const parsed = parseCli(argv, OPTIONS, { maxPositionals: 1 });
    values = parsed.values;
    const given = parsed.positionals[0] ?? 'collector';
    if (given !== 'collector') throw new TrustError('INVALID_ARGUMENT', `unknown kind '${given}': collector`);
    kind = given;
    if (values.name !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(values.name)) throw new TrustError('INVALID_ARGUMENT', '--name must be 1-64 of A-Z a-z 0-9 . _ -');
  } catch (error) {
    if (!isTrustError(error, 'INVALID_ARGUMENT')) throw error;
    io.err(`trust-agent keys: ${error.message}\n\n${KEYS_USAGE}`);
    return 2;
  }
  if (values.help === true) {
    io.out(KEYS_USAGE);
    return 0;
  }
  const dir = values.out ?? '.';
  const stem = join(dir, values.name ?? kind);
  const pair = nacl.box.keyPair();
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    for (const file of [`${stem}.key`, `${stem}.pub`]) await refuseExisting(file);
    await writeNew(`${stem}.key`, `${toHex(pair.secretKey)}\n`, 0o600);
    await writeNew(`${stem}.pub`, `${toHex(pair.publicKey)}\n`, 0o644);
  } catch (error) {
    io.err(`trust-agent keys: ${(error as Error).message}\n`);
    return 1;
  }
  const summary = { kind, publicKey: toHex(pair.publicKey), keyId: toHex(keyId(pair.publicKey)), secretKeyFile: `${stem}.key`, publicKeyFile: `${stem}.pub` };
  io.out(values.json === true ? `${JSON.stringify(summary)}\n`
    : `Collector X25519 key pair written: ${summary.secretKeyFile} (secret, mode 0600), ${summary.publicKeyFile}\n`
      + `public key ${summary.publicKey}\nkey id     ${summary.keyId}\n`);
  return 0;
}

async function refuseExisting(path: string): Promise<void> {
  if (await stat(path).then(() => true, () => false)) throw new Error(`${path} exists: keys are never overwritten (move it away first)`);
}

/** Creates the file exclusively (never replaces a key) with its final mode from the first byte on. */
async function writeNew(path: string, text: string, mode: number): Promise<void> {
  let handle;
  try {
    handle = await open(path, 'wx', mode);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new Error(`${path} exists: keys are never overwritten (move it away first)`);
    throw new Error(`cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    await handle.chmod(mode); // the process umask may have narrowed or widened the mode given to open
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
