/**
 * Milliseconds from a monotonic clock, for the timings --verbose prints and the progress
 * line. Not `performance.now()`: its first use loads Node's perf_hooks modules, a few ms of
 * start-up that a small diff would spend on a number it does not print.
 */
export function nowMs(): number {
  const [seconds, nanoseconds] = process.hrtime();
  return seconds * 1e3 + nanoseconds / 1e6;
}
