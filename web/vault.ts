import { fromHex, toHex } from '../agent/crypto/keys.js';
import { TrustError } from '../agent/errors.js';
import { decodeOwnerKeyFile, encodeOwnerKeyFile, generateOwnerKeys, type OwnerKeyFile } from '../companion/keys.js';

/**
 * Everything the app keeps, in one record: the owner key file (the CLI's format, so a backup opens in either),
 * the broker address per device, and every verified receipt. Secrets never leave the browser except in a
 * backup file the owner downloads on purpose.
 */
export interface Vault {
  keyFile: OwnerKeyFile;
  brokers: Record<string, string>;
  receipts: SavedReceipt[];
}

export interface SavedReceipt {
  deviceId: string;
  kind: string;
  issuedAt: number;
  /** The signed receipt bytes, hex: verifiable again later against the device key. */
  signed: string;
}

export const BACKUP_FORMAT = 'ta-companion-backup';

export function newVault(): Vault {
  return { keyFile: { keys: generateOwnerKeys(), devices: {} }, brokers: {}, receipts: [] };
}

/** The backup (and stored) text: the key file's JSON with the app's extras beside it. */
export function encodeVault(vault: Vault): string {
  const keyFile = JSON.parse(encodeOwnerKeyFile(vault.keyFile)) as Record<string, unknown>;
  return `${JSON.stringify({ format: BACKUP_FORMAT, v: 1, keyFile, brokers: vault.brokers, receipts: vault.receipts }, null, 2)}\n`;
}

/**
 * Reads a backup, or a bare CLI key file. Everything is checked before anything is returned, so a damaged file
 * can never replace good keys: the caller writes only what this returns.
 */
export function decodeVault(text: string): Vault {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new TrustError('CORRUPT', 'this file is not a companion backup (it is not JSON)', { cause });
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new TrustError('CORRUPT', 'this file is not a companion backup');
  const record = raw as { format?: unknown; v?: unknown; keyFile?: unknown; brokers?: unknown; receipts?: unknown };
  if (record.format === undefined) return { keyFile: decodeKeys(text), brokers: {}, receipts: [] };
  if (record.format !== BACKUP_FORMAT || record.v !== 1) throw new TrustError('UNSUPPORTED_VERSION', 'this backup was made by an unknown version of the app');
  const keyFile = decodeKeys(JSON.stringify(record.keyFile));
  return { keyFile, brokers: decodeBrokers(record.brokers, keyFile), receipts: decodeReceipts(record.receipts) };
}

function decodeKeys(text: string): OwnerKeyFile {
  try {
    return decodeOwnerKeyFile(text);
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new TrustError('CORRUPT', `the owner keys in this file are damaged (${why})`, { cause });
  }
}

function decodeBrokers(value: unknown, keyFile: OwnerKeyFile): Record<string, string> {
  const brokers: Record<string, string> = {};
  if (value === undefined) return brokers;
  if (value === null || typeof value !== 'object') throw new TrustError('CORRUPT', 'the broker list in this backup is damaged');
  for (const [deviceId, url] of Object.entries(value)) {
    if (typeof url !== 'string' || !/^wss:\/\//.test(url)) throw new TrustError('CORRUPT', `the broker address of ${deviceId} is not a wss:// address`);
    if (keyFile.devices[deviceId] !== undefined) brokers[deviceId] = url;
  }
  return brokers;
}

function decodeReceipts(value: unknown): SavedReceipt[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new TrustError('CORRUPT', 'the receipts in this backup are damaged');
  return value.map((entry: unknown) => {
    const r = (entry ?? {}) as Partial<SavedReceipt>;
    if (typeof r.deviceId !== 'string' || typeof r.kind !== 'string' || typeof r.issuedAt !== 'number' || typeof r.signed !== 'string') {
      throw new TrustError('CORRUPT', 'a receipt in this backup is damaged');
    }
    fromHex(r.signed, 'receipt');
    return { deviceId: r.deviceId, kind: r.kind, issuedAt: r.issuedAt, signed: r.signed };
  });
}

export function receiptHex(bytes: Uint8Array): string {
  return toHex(bytes);
}
