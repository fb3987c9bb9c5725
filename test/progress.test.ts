/**
 * The progress line (issue 14, item 14): stderr only, only on a terminal, never in the first
 * second, throttled, cut to the terminal's width, and cleared at the end.
 */
import { describe, expect, it } from 'vitest';
import { createProgress, progressLine } from '../src/cli/progress.js';

function fakeTerminal(isTTY: boolean, columns?: number) {
  const writes: string[] = [];
  return { stream: { isTTY, columns, write: (t: string) => writes.push(t) }, writes };
}

/** A clock the test moves by hand. */
function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('progress line', () => {
  it('draws nothing when the stream is not a terminal, or when disabled (--quiet)', () => {
    for (const [enabled, tty] of [
      [true, false],
      [false, true],
    ] as const) {
      const { stream, writes } = fakeTerminal(tty, 80);
      const c = clock();
      const p = createProgress(enabled, stream, c.now);
      p.setTotal(1e9);
      for (let i = 0; i < 50; i++) {
        c.advance(200);
        p.add(1e7);
      }
      p.stop();
      expect(writes).toEqual([]);
    }
  });

  it('a run shorter than a second leaves no trace', () => {
    const { stream, writes } = fakeTerminal(true, 80);
    const c = clock();
    const p = createProgress(true, stream, c.now);
    p.setTotal(1e9);
    for (let i = 0; i < 9; i++) {
      c.advance(100);
      p.add(1e8);
    }
    p.stop();
    expect(writes).toEqual([]);
  });

  it('after a second: one line redrawn in place at most every 100 ms, then cleared', () => {
    const { stream, writes } = fakeTerminal(true, 120);
    const c = clock();
    const p = createProgress(true, stream, c.now);
    p.setTotal(4e9);
    c.advance(2000);
    p.add(1e9); // 1 GB in 2 s: 0.50 GB/s, 6 s to go
    p.add(0); // within 100 ms: not redrawn
    c.advance(100);
    p.add(0);
    p.stop();
    expect(writes).toEqual([`\r${progressLine(1e9, 4e9, 2)}\x1b[K`, `\r${progressLine(1e9, 4e9, 2.1)}\x1b[K`, '\r\x1b[K']);
    expect(writes[0]).toBe('\r[######------------------] 1.00/4.00 GB  0.50 GB/s  ETA 6s\x1b[K');
  });

  it('fits a narrow terminal: the bar is dropped first, then the tail is cut; never wider than the terminal', () => {
    for (const columns of [30, 45, 70]) {
      const { stream, writes } = fakeTerminal(true, columns);
      const c = clock();
      const p = createProgress(true, stream, c.now);
      p.setTotal(4e9);
      c.advance(2000);
      p.add(1e9);
      p.stop();
      const line = writes[0]!.slice(1, -'\x1b[K'.length);
      expect(writes[0]!.endsWith('\x1b[K')).toBe(true);
      expect(line.length, `${columns} columns: ${line}`).toBeLessThan(columns);
      expect(line.startsWith('['), `${columns} columns`).toBe(columns === 70);
      expect(writes.at(-1)).toBe('\r\x1b[K');
    }
  });
});
