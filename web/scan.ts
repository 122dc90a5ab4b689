import { h } from './dom.js';

interface Detector { detect(source: HTMLVideoElement): Promise<Array<{ rawValue: string }>> }
type DetectorClass = new (options: { formats: string[] }) => Detector;

/** True where the browser can read QR codes from the camera itself (BarcodeDetector); elsewhere: paste. */
export function canScan(): boolean {
  return 'BarcodeDetector' in globalThis && navigator.mediaDevices?.getUserMedia !== undefined;
}

/**
 * Shows the camera in `host` until a `ta1:` code is seen, then stops the camera and resolves with it. The image
 * never leaves the browser. Rejects when the camera is refused; `stop()` cancels.
 */
export function scanQr(host: HTMLElement): { result: Promise<string>; stop: () => void } {
  const video = h('video', { playsinline: true, muted: true, 'aria-label': 'Camera view: hold the device\'s QR code in front of the camera' });
  host.replaceChildren(video);
  let stream: MediaStream | undefined;
  let stopped = false;
  const stop = (): void => {
    stopped = true;
    for (const track of stream?.getTracks() ?? []) track.stop();
    video.remove();
  };
  const result = (async () => {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
    video.srcObject = stream;
    await video.play();
    const Detector = (globalThis as unknown as { BarcodeDetector: DetectorClass }).BarcodeDetector;
    const detector = new Detector({ formats: ['qr_code'] });
    while (!stopped) {
      const codes = await detector.detect(video).catch(() => []);
      const found = codes.find((c) => c.rawValue.startsWith('ta1:'));
      if (found !== undefined) { stop(); return found.rawValue; }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error('scan cancelled');
  })();
  result.catch(() => stop());
  return { result, stop };
}
