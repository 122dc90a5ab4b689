import { renameSync, writeFileSync } from 'node:fs';
import { create } from 'qrcode/lib/core/qrcode.js';

/**
 * A camera for Chromium's fake capture device (--use-fake-device-for-media-stream
 * --use-file-for-fake-video-capture=FILE): a YUV4MPEG2 4:2:0 file whose frames show one QR code, dark modules on
 * white with a 4-module quiet zone, centred. Chromium opens the file each time a page starts the camera, so a test
 * shows another code by calling this again between scans (written aside and renamed: never a half-written file).
 */
export const FAKE_CAMERA = { width: 640, height: 480 };

export function showQrToFakeCamera(file: string, text: string, frames = 2): void {
  const { modules } = create(text, { errorCorrectionLevel: 'M' });
  const { width, height } = FAKE_CAMERA;
  const quiet = 4;
  const scale = Math.floor(Math.min(width, height) / (modules.size + 2 * quiet));
  const left = Math.floor((width - modules.size * scale) / 2);
  const top = Math.floor((height - modules.size * scale) / 2);
  const luma = new Uint8Array(width * height).fill(235);
  for (let row = 0; row < modules.size; row++) {
    for (let col = 0; col < modules.size; col++) {
      if (!modules.get(row, col)) continue;
      for (let y = 0; y < scale; y++) luma.fill(16, (top + row * scale + y) * width + left + col * scale, (top + row * scale + y) * width + left + (col + 1) * scale);
    }
  }
  const chroma = new Uint8Array((width / 2) * (height / 2) * 2).fill(128); // U then V: no colour
  const frame = [new TextEncoder().encode('FRAME\n'), luma, chroma];
  const header = new TextEncoder().encode(`YUV4MPEG2 W${width} H${height} F10:1 Ip A1:1 C420jpeg\n`);
  const parts = [header, ...Array.from({ length: frames }, () => frame).flat()];
  const bytes = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  parts.reduce((at, part) => { bytes.set(part, at); return at + part.length; }, 0);
  writeFileSync(`${file}.tmp`, bytes);
  renameSync(`${file}.tmp`, file);
}
