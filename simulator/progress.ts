/**
 * The live progress line of a simulation: virtual time, devices online, message rates. Redrawn in place on a
 * terminal (at most 10 times a second); on anything else (CI logs, pipes) it stays quiet except for `log` lines.
 */
export interface ProgressSample {
  /** Current virtual time (ms since epoch). */
  virtualMs: number;
  devices: number;
  online: number;
  /** Cumulative counts since the start. */
  readings: number;
  delivered: number;
}

export interface Progress {
  update(sample: ProgressSample): void;
  /** A line that should appear above the bar (events, warnings); printed in every mode. */
  log(line: string): void;
  finish(): void;
}

export interface ProgressOptions {
  stream: { write(chunk: string): unknown; columns?: number };
  isTTY: boolean;
  startMs: number;
  endMs: number;
  /** Wall clock for the rates and the redraw throttle (injectable for tests). */
  now?: () => number;
  /** Width of the bar in characters. */
  width?: number;
}

const REDRAW_MS = 100;

export function createProgress(options: ProgressOptions): Progress {
  const now = options.now ?? (() => performance.now());
  const width = options.width ?? 24;
  let lastDraw = -Infinity;
  let drawn = false;
  let rate = { at: now(), readings: 0, delivered: 0, perSecond: 0, deliveredPerSecond: 0 };
  let latest: ProgressSample | undefined;

  const render = (s: ProgressSample): string => {
    const span = Math.max(1, options.endMs - options.startMs);
    const fraction = Math.min(1, Math.max(0, (s.virtualMs - options.startMs) / span));
    const filled = Math.round(fraction * width);
    const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
    const clock = new Date(s.virtualMs).toISOString().slice(0, 16).replace('T', ' ');
    const line = `${bar} ${(fraction * 100).toFixed(0).padStart(3)}%  ${clock}  devices ${s.online}/${s.devices}  `
      + `readings ${s.readings} (${fmtRate(rate.perSecond)}/s)  delivered ${s.delivered} (${fmtRate(rate.deliveredPerSecond)}/s)`;
    const columns = options.stream.columns ?? 160;
    return line.length > columns - 1 ? line.slice(0, columns - 1) : line;
  };

  const draw = (s: ProgressSample): void => {
    options.stream.write(`\r\u001b[2K${render(s)}`);
    drawn = true;
  };

  return {
    update(sample) {
      latest = sample;
      if (!options.isTTY) return;
      const t = now();
      if (t - lastDraw < REDRAW_MS) return;
      const dt = (t - rate.at) / 1000;
      if (dt > 0.25) {
        rate = {
          at: t, readings: sample.readings, delivered: sample.delivered,
          perSecond: (sample.readings - rate.readings) / dt, deliveredPerSecond: (sample.delivered - rate.delivered) / dt,
        };
      }
      lastDraw = t;
      draw(sample);
    },
    log(line) {
      if (options.isTTY && drawn) options.stream.write('\r\u001b[2K');
      options.stream.write(`${line}\n`);
      if (options.isTTY && latest) draw(latest);
    },
    finish() {
      if (options.isTTY && latest) {
        draw(latest);
        options.stream.write('\n');
      }
    },
  };
}

function fmtRate(perSecond: number): string {
  return perSecond >= 10_000 ? `${(perSecond / 1000).toFixed(0)}k` : perSecond >= 1000 ? `${(perSecond / 1000).toFixed(1)}k` : perSecond.toFixed(0);
}
