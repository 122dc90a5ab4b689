/** The encoder core of the `qrcode` package (no renderers, no file system): only what pairing-qr.ts uses. */
declare module 'qrcode/lib/core/qrcode.js' {
  export function create(text: string, options?: { errorCorrectionLevel?: 'L' | 'M' | 'Q' | 'H' }): {
    version: number;
    modules: { size: number; get(row: number, col: number): number | boolean };
  };
}
