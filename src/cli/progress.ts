/**
 * A progress line on stderr for long runs: bytes done, throughput and ETA. Shown only when
 * stderr is a terminal, never with --quiet, and only after the first second, so short runs
 * and pipelines never see it; cleared when the run ends (also on an error).
 *
 * Our own line rather than a library: the candidates were weighed against what this needs
 * (one line, stderr, TTY only, a start delay, cleared at the end, no timers left running).
 * cli-progress 3.12 (the common choice) does stderr/TTY-only/clear-on-complete, but is
 * CommonJS with five dependencies, last released in 2023, draws from its own timer and has
 * no start delay; `progress` 2.0.3 is unmaintained since 2019; log-update and ora are a
 * redraw helper and a spinner, not a byte bar, with larger dependency trees. What the own
 * line lacked against them, fitting a narrow terminal (a wrapped line cannot be cleared by
 * `\r`), it now does: the line is cut to the terminal's width.
 */
import { isTerminal, stderrStream } from './output.js';
import { nowMs } from './clock.js';

export interface Progress {
  setTotal(bytes: number): void;
  add(bytes: number): void;
  stop(): void;
}

/** The part of a stream the line needs (process.stderr, or a test double). */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

const NONE: Progress = { setTotal() {}, add() {}, stop() {} };
const DELAY_MS = 1000;
const REDRAW_MS = 100;
const BAR_WIDTH = 24;

export function createProgress(enabled: boolean, to?: ProgressStream, now: () => number = nowMs): Progress {
  if (!enabled || (!to && !isTerminal(2))) return NONE;
  const stream = to ?? stderrStream();
  if (!stream.isTTY) return NONE;
  const started = now();
  let total = 0;
  let done = 0;
  let lastDraw = 0;
  let drawn = false;
  const draw = () => {
    const t = now();
    if (t - started < DELAY_MS || t - lastDraw < REDRAW_MS) return;
    lastDraw = t;
    drawn = true;
    stream.write(`\r${fitWidth(progressLine(done, total, (t - started) / 1000), (stream.columns ?? 80) - 1)}\x1b[K`);
  };
  return {
    setTotal(bytes) {
      total = bytes;
    },
    add(bytes) {
      done += bytes;
      draw();
    },
    stop() {
      if (drawn) stream.write('\r\x1b[K');
      drawn = false;
    },
  };
}

/** `[#####-----] 1.20/4.00 GB  2.31 GB/s  ETA 1s` for `done` of `total` bytes after `seconds`. */
export function progressLine(done: number, total: number, seconds: number): string {
  const rate = done / Math.max(seconds, 1e-3);
  const fraction = total > 0 ? Math.min(1, done / total) : 0;
  const filled = Math.round(fraction * BAR_WIDTH);
  const eta = rate > 0 && total > done ? (total - done) / rate : 0;
  return `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${gb(done)}/${gb(total)} GB  ${(rate / 1e9).toFixed(2)} GB/s  ETA ${eta.toFixed(0)}s`;
}

/** The line within `width` columns: the bar goes first, then the tail is cut. */
function fitWidth(line: string, width: number): string {
  if (line.length <= width) return line;
  const withoutBar = line.slice(BAR_WIDTH + 3);
  return withoutBar.length <= width ? withoutBar : withoutBar.slice(0, Math.max(0, width));
}

function gb(bytes: number): string {
  return (bytes / 1e9).toFixed(2);
}
