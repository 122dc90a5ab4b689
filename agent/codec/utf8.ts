/**
 * UTF-8 without TextEncoder: bare engines (QuickJS, XS) do not all ship it, and the core must run there.
 */
export function utf8Encode(text: string): Uint8Array {
  const out: number[] = [];
  for (const char of text) {
    let code = char.codePointAt(0) ?? 0;
    if (code < 0x80) out.push(code);
    else if (code < 0x800) out.push(0xc0 | (code >> 6), 0x80 | (code & 63));
    else if (code < 0x10000) out.push(0xe0 | (code >> 12), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63));
    else {
      out.push(0xf0 | (code >> 18), 0x80 | ((code >> 12) & 63), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63));
    }
  }
  return Uint8Array.from(out);
}

export function utf8Decode(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    const b0 = bytes[i] ?? 0;
    const size = b0 < 0x80 ? 1 : b0 >= 0xf0 ? 4 : b0 >= 0xe0 ? 3 : 2;
    let code = size === 1 ? b0 : b0 & (0xff >> (size + 1));
    for (let k = 1; k < size; k++) code = (code << 6) | ((bytes[i + k] ?? 0) & 63);
    out += String.fromCodePoint(code);
    i += size;
  }
  return out;
}

/**
 * Strict UTF-8 (RFC 3629) for untrusted text: undefined on an overlong form, a surrogate, a code point above
 * U+10FFFF or a cut sequence, instead of guessing. One pass; code units go out in chunks so a long string
 * costs linear time on every engine.
 */
export function utf8DecodeStrict(bytes: Uint8Array): string | undefined {
  if (isAscii(bytes)) return asciiText(bytes);
  const units: number[] = [];
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    const b0 = bytes[i] ?? 0;
    if (b0 < 0x80) {
      units.push(b0);
      i++;
    } else {
      const size = b0 >= 0xc2 && b0 <= 0xdf ? 2 : b0 >= 0xe0 && b0 <= 0xef ? 3 : b0 >= 0xf0 && b0 <= 0xf4 ? 4 : 0;
      if (size === 0 || i + size > bytes.length) return undefined;
      let code = b0 & (0xff >> (size + 1));
      for (let k = 1; k < size; k++) {
        const next = bytes[i + k] ?? 0;
        if ((next & 0xc0) !== 0x80) return undefined;
        code = (code << 6) | (next & 63);
      }
      const smallest = size === 2 ? 0x80 : size === 3 ? 0x800 : 0x10000;
      if (code < smallest || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return undefined;
      if (code < 0x10000) units.push(code);
      else units.push(0xd800 + ((code - 0x10000) >> 10), 0xdc00 + ((code - 0x10000) & 0x3ff));
      i += size;
    }
    if (units.length >= 4096) out += String.fromCharCode(...units.splice(0));
  }
  return units.length === 0 ? out : out + String.fromCharCode(...units);
}

function isAscii(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if ((bytes[i] ?? 0) >= 0x80) return false;
  return true;
}

function asciiText(bytes: Uint8Array): string {
  let out = '';
  for (let at = 0; at < bytes.length; at += 4096) {
    out += String.fromCharCode.apply(null, bytes.subarray(at, at + 4096) as unknown as number[]);
  }
  return out;
}
