/**
 * Timers. All of the agent's deferred work goes through this port so that a virtual clock can drive days
 * of device life in seconds.
 */
export type TimerHandle = object | number;

export interface SchedulerPort {
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}
