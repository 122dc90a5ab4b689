import { h } from './dom.js';

interface Detector { detect(source: HTMLVideoElement): Promise<Array<{ rawValue: string }>> }
interface DetectorClass {
  new (options: { formats: string[] }): Detector;
  getSupportedFormats?(): Promise<string[]>;
}
/** Reads the QR codes in the video's current frame. */
type FrameReader = (video: HTMLVideoElement) => Promise<string[]>;

export const PAIRING_PREFIX = 'ta1:';
const FRAME_MS = 200;
/** Frames are scaled down to this many pixels on their long side before decoding: enough for a ~40-module code. */
const MAX_DECODE_SIDE = 640;

/** True where the page may use a camera at all (a secure context with getUserMedia); elsewhere: paste only. */
export function canScan(): boolean {
  return globalThis.isSecureContext && typeof navigator.mediaDevices?.getUserMedia === 'function';
}

export interface Scan {
  /** The first `ta1:` code seen, or undefined when the owner cancelled. Rejects with a message for the owner. */
  readonly result: Promise<string | undefined>;
  /** Stops the camera (cancel, or the screen went away). */
  stop(): void;
}

/**
 * Shows the camera in `host` until a `ta1:` code is seen, then stops the camera and resolves with it. Frames are
 * read in this page (the browser's BarcodeDetector where it reads QR codes, else the lazily loaded jsQR); the image
 * never leaves the browser. A QR code that is not a pairing code is passed to `onOtherCode` once and scanning goes on.
 */
export function scanQr(host: HTMLElement, onOtherCode: (text: string) => void): Scan {
  const video = h('video', { playsinline: true, muted: true, 'aria-label': 'Camera view: hold the device\'s QR code in front of the camera' });
  host.replaceChildren(video);
  let stream: MediaStream | undefined;
  let stopped = false;
  const stop = (): void => {
    stopped = true;
    for (const track of stream?.getTracks() ?? []) track.stop();
    video.remove();
  };
  const result = (async (): Promise<string | undefined> => {
    const readerReady = frameReader();
    readerReady.catch(() => undefined); // awaited below, unless the camera fails first
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } }).catch((error: unknown) => { throw new Error(cameraProblem(error)); });
    if (stopped) return undefined;
    video.srcObject = stream;
    await video.play();
    const read = await readerReady;
    const reported = new Set<string>();
    while (!stopped) {
      const codes = await read(video).catch(() => []);
      const found = codes.find((text) => text.startsWith(PAIRING_PREFIX));
      if (found !== undefined) return found;
      for (const other of codes) if (!reported.has(other)) { reported.add(other); onOtherCode(other); }
      await new Promise((resolve) => setTimeout(resolve, FRAME_MS));
    }
    return undefined;
  })().then((text) => (stopped ? undefined : text), (error: unknown) => {
    // Cancelled while the camera was starting: that is a cancel, not a failure.
    if (stopped) return undefined;
    throw error;
  });
  void result.catch(() => undefined).finally(stop);
  return { result, stop };
}

/** The browser's own reader where it can read QR codes, else jsQR, fetched from this site only now. */
async function frameReader(): Promise<FrameReader> {
  const Detector = (globalThis as unknown as { BarcodeDetector?: DetectorClass }).BarcodeDetector;
  const formats = await Detector?.getSupportedFormats?.().catch(() => []) ?? [];
  if (Detector !== undefined && formats.includes('qr_code')) {
    const detector = new Detector({ formats: ['qr_code'] });
    return async (video) => (await detector.detect(video)).map((code) => code.rawValue);
  }
  const { decodeQr } = await import('./qr-decoder.js').catch(() => { throw new Error('The QR reader could not be loaded. Reload the page, or paste the code'); });
  const canvas = h('canvas', {});
  const context = canvas.getContext('2d', { willReadFrequently: true });
  if (context === null) throw new Error('This browser cannot read camera frames. Paste the code instead');
  return async (video) => {
    const scale = Math.min(1, MAX_DECODE_SIDE / Math.max(video.videoWidth, video.videoHeight));
    const width = Math.round(video.videoWidth * scale);
    const height = Math.round(video.videoHeight * scale);
    if (width === 0 || height === 0) return [];
    canvas.width = width;
    canvas.height = height;
    context.drawImage(video, 0, 0, width, height);
    const text = decodeQr(context.getImageData(0, 0, width, height).data, width, height);
    return text === undefined ? [] : [text];
  };
}

/** getUserMedia's failures, in words the owner can act on. */
function cameraProblem(error: unknown): string {
  const name = (error as { name?: unknown }).name;
  if (name === 'NotAllowedError' || name === 'SecurityError') return 'Camera permission was refused. To scan, allow the camera for this page in the browser\'s site settings; or paste the code';
  if (name === 'NotFoundError' || name === 'OverconstrainedError') return 'No camera was found. Paste the code instead';
  if (name === 'NotReadableError' || name === 'AbortError') return 'The camera could not be started (another app may be using it). Close that app and try again, or paste the code';
  return `The camera could not be started (${error instanceof Error ? error.message : String(error)}). Paste the code instead`;
}
