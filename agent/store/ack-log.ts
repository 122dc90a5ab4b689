import { crc32, readU32, writeU32 } from './crc32.js';

/**
 * The acknowledgement log: fixed 12-byte entries `[u32 ord-high][u32 ord-low][u32 crc32]`, one per record the
 * broker acknowledged. Fixed size makes a torn tail obvious (length not a multiple of 12) and a flipped entry
 * harmless: it is skipped, and the worst outcome is one record sent again (at-least-once).
 */
export const ACK_ENTRY = 12;
const TWO_32 = 0x1_0000_0000;

export function encodeAcks(ords: readonly number[]): Uint8Array {
  const out = new Uint8Array(ords.length * ACK_ENTRY);
  ords.forEach((ord, i) => {
    const at = i * ACK_ENTRY;
    writeU32(out, at, Math.floor(ord / TWO_32));
    writeU32(out, at + 4, ord % TWO_32);
    writeU32(out, at + 8, crc32(out, at, at + 8));
  });
  return out;
}

export interface AckScan {
  ords: number[];
  /** Length to cut the file to when the tail is torn. */
  goodLength: number;
  badEntries: number;
}

export function scanAcks(bytes: Uint8Array): AckScan {
  const whole = bytes.length - (bytes.length % ACK_ENTRY);
  const ords: number[] = [];
  let badEntries = 0;
  for (let at = 0; at < whole; at += ACK_ENTRY) {
    if (crc32(bytes, at, at + 8) !== readU32(bytes, at + 8)) {
      badEntries++;
      continue;
    }
    ords.push(readU32(bytes, at) * TWO_32 + readU32(bytes, at + 4));
  }
  return { ords, goodLength: whole, badEntries };
}
