/**
 * A progress line on stderr for long runs: bytes done, throughput and ETA. Shown only when
 * stderr is a terminal, never with --quiet, and only after the first second, so short runs
 * and pipelines never see it.
 */
export interface Progress {
  setTotal(bytes: number): void;
  add(bytes: number): void;
  stop(): void;
}

const NONE: Progress = { setTotal() {}, add() {}, stop() {} };
const DELAY_MS = 1000;
const REDRAW_MS = 100;

export function createProgress(enabled: boolean, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!enabled || !stream.isTTY) return NONE;
  const started = performance.now();
  let total = 0;
  let done = 0;
  let lastDraw = 0;
  let drawn = false;
  const draw = () => {
    const now = performance.now();
    const elapsed = (now - started) / 1000;
    if (now - started < DELAY_MS || now - lastDraw < REDRAW_MS) return;
    lastDraw = now;
    drawn = true;
    const rate = done / Math.max(elapsed, 1e-3);
    const fraction = total > 0 ? Math.min(1, done / total) : 0;
    const width = 24;
    const filled = Math.round(fraction * width);
    const eta = rate > 0 && total > done ? (total - done) / rate : 0;
    stream.write(
      `\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${gb(done)}/${gb(total)} GB  ${(rate / 1e9).toFixed(2)} GB/s  ETA ${eta.toFixed(0)}s \x1b[K`,
    );
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
    },
  };
}

function gb(bytes: number): string {
  return (bytes / 1e9).toFixed(2);
}
