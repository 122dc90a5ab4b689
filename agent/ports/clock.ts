/**
 * Time as the host sees it. `now()` is wall-clock milliseconds since the Unix epoch and may jump (NTP,
 * a flat RTC battery, an owner setting the date). `monotonic()` is milliseconds from an arbitrary origin
 * that never goes backwards while the process lives; retention uses it to bound forward clock jumps.
 */
export interface ClockPort {
  now(): number;
  monotonic(): number;
}
