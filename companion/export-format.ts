import { decodeCbor } from '../agent/codec/cbor.js';
import { TrustError } from '../agent/errors.js';
import { toJsonable } from './cli-format.js';

/**
 * The opened export (CBOR, as the device sealed it) in files a person can open: JSON (bytes as hex) and CSV (one
 * row per record: category, times, then one column per data field). Shared by the CLI's --out and the web app.
 */
export interface ExportDocument {
  v: number;
  deviceId: string;
  exportedAt: number;
  records: Array<Record<string, unknown>>;
}

export function readExport(data: Uint8Array): ExportDocument {
  const doc = toJsonable(decodeCbor(data, { maxBytes: 16 << 20, maxDepth: 16 })) as Partial<ExportDocument> | null;
  if (doc === null || typeof doc !== 'object' || !Array.isArray(doc.records)) throw new TrustError('MALFORMED', 'the export holds no record list');
  return { v: Number(doc.v), deviceId: String(doc.deviceId), exportedAt: Number(doc.exportedAt), records: doc.records };
}

export function exportToJson(data: Uint8Array): string {
  return `${JSON.stringify(readExport(data), null, 2)}\n`;
}

export function exportToCsv(data: Uint8Array): string {
  const { records } = readExport(data);
  const fields = [...new Set(records.flatMap((r) => Object.keys(asObject(r['data']))))].sort();
  const header = ['category', 'recordedAt', 'expiresAt', 'sent', ...fields];
  const rows = records.map((r) => {
    const data = asObject(r['data']);
    return [r['category'], isoTime(r['at']), isoTime(r['expiresAt']), r['transmit'], ...fields.map((f) => data[f])];
  });
  return [header, ...rows].map((row) => row.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

function asObject(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function isoTime(value: unknown): string {
  return typeof value === 'number' && Number.isFinite(value) ? new Date(value).toISOString() : '';
}

/** RFC 4180 quoting; a leading = + - @ is prefixed with ' so a spreadsheet shows it instead of running it. */
function csvCell(value: unknown): string {
  if (value === undefined || value === null) return '';
  let text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (/^[=+\-@\t\r]/.test(text) && !/^-?\d/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
