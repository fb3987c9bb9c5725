/** Characters per write: a 40 MB report is never converted to bytes in one piece. */
const WRITE_CHARS = 1 << 20;
/**
 * Characters per write of streamed output: below V8's large-object size, so the pieces die
 * young instead of piling up in the old generation until a full collection.
 */
const STREAM_CHARS = 64 << 10;

/** Writing results: stdout for results, stderr for details; waits for pipes to drain. */
import { DiffaiError } from '../errors.js';
import { StreamWriter } from '../render/stream-writer.js';
import { termSafe } from '../terminal.js';

let guarded = false;
/** True once the reader of stdout has gone away (`diffai … | head`): the rest is dropped. */
let stdoutClosed = false;

/**
 * Write errors arrive both through write callbacks and as 'error' events; without a
 * listener the event would end the process with a stack trace. The callbacks decide.
 */
export function guardStreams(): void {
  if (guarded) return;
  guarded = true;
  process.stdout.on('error', () => {});
  process.stderr.on('error', () => {});
}

/**
 * Writes `text` to stdout, WRITE_CHARS at a time. A closed pipe (EPIPE) ends output quietly,
 * as `git diff | head` does; any other failure (a full disk, a revoked terminal) is a
 * DiffaiError: one line, exit 2.
 */
export async function write(text: string): Promise<void> {
  guardStreams();
  let at = 0;
  do {
    let end = Math.min(text.length, at + WRITE_CHARS);
    // Never split a surrogate pair between two writes (each half would become U+FFFD).
    if (end < text.length && isHighSurrogate(text.charCodeAt(end - 1))) end--;
    await writePiece(at === 0 && end === text.length ? text : text.slice(at, end));
    at = end;
  } while (at < text.length && !stdoutClosed);
}

/** Writes pieces of one output to stdout as they come (a streamed report), with write()'s handling of closed pipes and failures. */
export async function writeChunks(pieces: Iterable<string>): Promise<void> {
  const out = new StreamWriter(write, STREAM_CHARS);
  for (const piece of pieces) {
    if (stdoutClosed) return;
    await out.write(piece);
  }
  await out.end();
}

function writePiece(text: string): Promise<void> {
  if (stdoutClosed) return Promise.resolve();
  return new Promise((resolve, reject) => {
    try {
      process.stdout.write(text, (e) => {
        if (!e) resolve();
        else if ((e as NodeJS.ErrnoException).code === 'EPIPE') {
          stdoutClosed = true;
          resolve();
        } else reject(outputError(e));
      });
    } catch (e) {
      reject(outputError(e));
    }
  });
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function outputError(e: unknown): DiffaiError {
  const err = e as NodeJS.ErrnoException;
  const what = err.code === 'ENOSPC' ? 'no space left on device' : err.code === 'EPIPE' ? 'broken pipe' : (err.message ?? String(e));
  return new DiffaiError(undefined, `cannot write the output: ${what}`);
}

export function verboseLine(enabled: boolean | undefined, text: string): void {
  guardStreams();
  if (enabled) process.stderr.write(`${termSafe(`diffai: ${text}`)}\n`);
}

/** A `diffai: …` line on stderr, unless --quiet. */
export function warn(quiet: boolean | undefined, text: string): void {
  guardStreams();
  if (!quiet) process.stderr.write(`${termSafe(`diffai: ${text}`)}\n`);
}
