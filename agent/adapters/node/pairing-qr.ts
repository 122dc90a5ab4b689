import { create } from 'qrcode/lib/core/qrcode.js';

/**
 * The pairing payload (`ta1:...`) as a QR code, for the owner's app to scan: SVG for a device's web page or
 * display, text for a terminal or a serial console. Host-side only (the `qrcode` package stays out of the neutral
 * agent bundle). Error correction M: the payload is ~100 characters, so the code stays small enough to scan easily.
 */
const QUIET = 4;

function matrix(payload: string): boolean[][] {
  const { modules } = create(payload, { errorCorrectionLevel: 'M' });
  return Array.from({ length: modules.size }, (_, row) => Array.from({ length: modules.size }, (_, col) => Boolean(modules.get(row, col))));
}

/** A standalone SVG (dark modules as one path, 4-module quiet zone), scaled by the viewer; `title` for screen readers. */
export function pairingQrSvg(payload: string, options: { title?: string; sizePx?: number } = {}): string {
  const m = matrix(payload);
  const size = m.length + 2 * QUIET;
  let path = '';
  m.forEach((row, y) => row.forEach((dark, x) => { if (dark) path += `M${x + QUIET} ${y + QUIET}h1v1h-1z`; }));
  const title = escapeXml(options.title ?? 'Pairing QR code');
  const px = options.sizePx ?? size * 6;
  return `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${title}" viewBox="0 0 ${size} ${size}" width="${px}" height="${px}" shape-rendering="crispEdges">`
    + `<title>${title}</title><rect width="${size}" height="${size}" fill="#fff"/><path fill="#000" d="${path}"/></svg>`;
}

/**
 * The code in a terminal: two rows per line with half blocks, light on dark inverted so it scans on a dark
 * background too (the quiet zone is drawn light). Print the payload text under it for pasting.
 */
export function pairingQrText(payload: string): string {
  const m = matrix(payload);
  const size = m.length + 2 * QUIET;
  const dark = (x: number, y: number): boolean => m[y - QUIET]?.[x - QUIET] === true;
  const lines: string[] = [];
  for (let y = 0; y < size; y += 2) {
    let line = '';
    for (let x = 0; x < size; x++) {
      const top = !dark(x, y);
      const bottom = y + 1 < size ? !dark(x, y + 1) : false;
      line += top && bottom ? '█' : top ? '▀' : bottom ? '▄' : ' ';
    }
    lines.push(line);
  }
  return `${lines.join('\n')}\n`;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
