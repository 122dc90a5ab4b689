import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import { toHex } from '../agent/crypto/keys.js';
import { TrustError } from '../agent/errors.js';
import type { ParsedArgs } from './cli-args.js';
import { decodeOwnerKeyFile, encodeOwnerKeyFile, generateOwnerKeys, type OwnerKeyFile } from './keys.js';

/** The owner key file on disk: mode 0600, written whole (temporary name, then rename). */
export function keyPathOf(args: ParsedArgs): string {
  return args.flags['key-file'] ?? process.env['TA_KEY_FILE'] ?? 'owner-key.json';
}

export async function loadKeyFile(path: string, createIfMissing: boolean): Promise<OwnerKeyFile> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text !== undefined) return decodeOwnerKeyFile(text);
  if (!createIfMissing) throw new TrustError('UNKNOWN_KEY', `no key file at ${path}: run keygen or pair first`);
  const file = { keys: generateOwnerKeys(), devices: {} };
  await saveKeyFile(path, file);
  return file;
}

export async function saveKeyFile(path: string, file: OwnerKeyFile): Promise<void> {
  await writePrivate(path, new TextEncoder().encode(encodeOwnerKeyFile(file)));
}

/** Secrets and personal data: written 0600 to a temporary name, then renamed, so no reader ever sees a partial file. */
export async function writePrivate(path: string, data: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

export function pickDevice(keyFile: OwnerKeyFile, given: string | undefined): string {
  if (given !== undefined) {
    if (keyFile.devices[given] === undefined) throw new TrustError('UNKNOWN_KEY', `device ${given} is not in the key file: pair with it first`);
    return given;
  }
  const ids = Object.keys(keyFile.devices);
  if (ids.length !== 1) throw new TrustError('INVALID_ARGUMENT', ids.length === 0 ? 'no paired device: run pair first' : `several paired devices (${ids.join(', ')}): give --device`);
  return ids[0] as string;
}

export async function keygen(path: string, json: boolean, out: (text: string) => void): Promise<number> {
  const existing = await readFile(path, 'utf8').catch(() => undefined);
  const file = existing === undefined ? { keys: generateOwnerKeys(), devices: {} } : decodeOwnerKeyFile(existing);
  if (existing === undefined) await saveKeyFile(path, file);
  const created = existing === undefined;
  out(json ? `${JSON.stringify({ ok: true, result: { keyFile: path, keyId: toHex(file.keys.keyId), created } })}\n`
    : `${created ? 'Created' : 'Kept existing'} owner key ${toHex(file.keys.keyId)} in ${path}\n`);
  return 0;
}
