import jsqr from 'jsqr';

// jsqr is CommonJS whose module.exports is the function with itself as `.default`: `.default` is the function both
// as TypeScript types it (NodeNext) and as esbuild bundles it.
const jsQR = jsqr.default;

/**
 * The page's own QR reader for browsers without `BarcodeDetector` (Chromium on Linux desktops, Firefox). Built as
 * its own file (dist/web/qr-decoder.js) and imported only when the owner starts the camera, so the app's first load
 * does not carry it. Reads one frame's RGBA pixels; returns the text of the QR code in it, or undefined.
 */
export function decodeQr(rgba: Uint8ClampedArray, width: number, height: number): string | undefined {
  // Both polarities: a terminal draws the code light on dark (see pairingQrText).
  return jsQR(rgba, width, height, { inversionAttempts: 'attemptBoth' })?.data;
}
