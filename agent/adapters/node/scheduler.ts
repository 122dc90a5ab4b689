import type { SchedulerPort, TimerHandle } from '../../ports/scheduler.js';

export interface NodeSchedulerOptions {
  /** Let the process exit while only agent timers are pending (CLI tools); a device daemon keeps them ref'd. */
  unref?: boolean;
}

export function nodeScheduler(options: NodeSchedulerOptions = {}): SchedulerPort {
  return {
    setTimeout(callback: () => void, delayMs: number): TimerHandle {
      const timer = setTimeout(callback, Math.max(0, Number.isFinite(delayMs) ? delayMs : 0));
      if (options.unref === true) timer.unref();
      return timer;
    },
    clearTimeout(handle: TimerHandle): void {
      clearTimeout(handle as NodeJS.Timeout);
    },
  };
}
