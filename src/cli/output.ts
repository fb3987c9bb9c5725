/** Characters per write: a 40 MB report is never converted to bytes in one piece. */
const WRITE_CHARS = 1 << 20;
/**
 * Characters per write of streamed output: below V8's large-object size, so the pieces die
 * young instead of piling up in the old generation until a full collection.
 */
const STREAM_CHARS = 64 << 10;
/**
 * Characters of a streamed diff held before its first write (256 Ki: more cost the 1M-tensor
 * bench pair a few MB of peak RSS): output that fits (every small
 * diff) is written only once the run has succeeded, so a read that fails leaves stdout
 * empty; only larger output is written while later parts are still being read.
 */
export const HOLD_CHARS = 256 << 10;

/**
 * Writing results: stdout for results, stderr for details. The command line (bin/diffai.js)
 * writes stdout with fs.writeSync, which blocks until the reader took the bytes; the streams
 * (process.stdout/stderr) are made only when used, since making one loads Node's stream
 * classes, several ms of a small diff's start-up. In a library or a test, stdout is the stream.
 */
import { fstatSync, statSync, writeSync } from 'node:fs';
import { DiffaiError } from '../errors.js';
import { type OutputPiece, StreamWriter } from '../render/stream-writer.js';
import { termSafe, termSafeLines } from '../terminal.js';

/** Whether stdout goes straight to file descriptor 1 (see writeStdoutDirectly). */
let direct = false;
/** True once the reader of stdout has gone away (`diffai … | head`): the rest is dropped. */
let stdoutClosed = false;
const guarded = new Set<NodeJS.WriteStream>();

/** For the command line only: results go to file descriptor 1 without process.stdout. */
export function writeStdoutDirectly(): void {
  direct = true;
}

/**
 * The stream, with a listener for its 'error' events: write errors arrive both through write
 * callbacks and as events, and an event without a listener would end the process with a
 * stack trace. The callbacks decide.
 */
function guardedStream(stream: NodeJS.WriteStream): NodeJS.WriteStream {
  if (!guarded.has(stream)) {
    guarded.add(stream);
    stream.on('error', () => {});
  }
  return stream;
}

/** process.stderr, guarded. */
export function stderrStream(): NodeJS.WriteStream {
  return guardedStream(process.stderr);
}

/**
 * A line (or lines) of details on stderr. Control characters are escaped here once more
 * (lines and tabs kept): messages quote names and paths from files and command lines, and a
 * caller that forgot termSafe must not hand a terminal an escape sequence.
 */
export function writeError(text: string): void {
  stderrStream().write(termSafeLines(text));
}

/** Whether stdout is a terminal (for colour). */
export function stdoutIsTerminal(): boolean {
  return isTerminal(1);
}

/**
 * Whether stdout (1) or stderr (2) is a terminal. A regular file, a pipe or the null device
 * is known not to be one from fstat; only another character device asks the stream (which
 * loads node:tty, node:net and the stream classes).
 */
export function isTerminal(fd: 1 | 2): boolean {
  let stat: ReturnType<typeof fstatSync>;
  try {
    stat = fstatSync(fd);
  } catch {
    return false;
  }
  if (!stat.isCharacterDevice() || stat.rdev === nullDevice()) return false;
  return (fd === 1 ? process.stdout : stderrStream()).isTTY === true;
}

/** The device number of /dev/null, where there is one. */
function nullDevice(): number | undefined {
  return statSync('/dev/null', { throwIfNoEntry: false })?.rdev;
}

/**
 * Writes `text` to stdout, WRITE_CHARS at a time (UTF-8 bytes in one go). A closed pipe (EPIPE, or ECONNRESET on a socket) ends output quietly,
 * as `git diff | head` does; any other failure (a full disk, a revoked terminal) is a
 * DiffaiError: one line, exit 2.
 */
export async function write(text: OutputPiece): Promise<void> {
  if (typeof text !== 'string') return writePiece(text);
  let at = 0;
  do {
    let end = Math.min(text.length, at + WRITE_CHARS);
    // Never split a surrogate pair between two writes (each half would become U+FFFD).
    if (end < text.length && isHighSurrogate(text.charCodeAt(end - 1))) end--;
    await writePiece(at === 0 && end === text.length ? text : text.slice(at, end));
    at = end;
  } while (at < text.length && !stdoutClosed);
}

/**
 * Writes pieces of one output to stdout as they come (a streamed report), with write()'s
 * handling of closed pipes and failures; the first `hold` characters are held (HOLD_CHARS
 * for a diff that is still being read). Stops taking pieces once the reader has gone away
 * (an async source is then closed, which ends the work behind it).
 */
export async function writeChunks(pieces: Iterable<OutputPiece> | AsyncIterable<OutputPiece>, hold = 0): Promise<void> {
  const out = new StreamWriter(write, STREAM_CHARS, hold);
  if (Symbol.asyncIterator in pieces) {
    for await (const piece of pieces) {
      if (stdoutClosed) return;
      await out.write(piece);
    }
  } else {
    for (const piece of pieces) {
      if (stdoutClosed) return;
      await out.write(piece);
    }
  }
  await out.end();
}

/** The UTF-8 bytes of a streamed piece (at most 3 per UTF-16 code unit), in one buffer reused from write to write (they are synchronous). */
let scratch: Buffer | undefined;

function utf8(text: string): Buffer {
  if (3 * text.length > 6 * STREAM_CHARS) return Buffer.from(text, 'utf8'); // a large piece: its own buffer, freed after
  scratch ??= Buffer.allocUnsafe(6 * STREAM_CHARS);
  return scratch.subarray(0, scratch.write(text, 'utf8'));
}

function writePiece(text: OutputPiece): Promise<void> {
  if (stdoutClosed) return Promise.resolve();
  if (!direct) return writeStream(text);
  const bytes = typeof text === 'string' ? utf8(text) : text;
  let at = 0;
  try {
    while (at < bytes.length) at += writeSync(1, bytes, at);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (readerGone(code)) stdoutClosed = true;
    else if (code !== 'EAGAIN') throw outputError(e);
    else {
      // A non-blocking descriptor that is full: the stream waits for it to drain, from here on.
      direct = false;
      return writeStream(Buffer.from(bytes.subarray(at))); // a copy: the scratch buffer (or the producer's) is reused
    }
  }
  return Promise.resolve();
}

function writeStream(data: string | Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    try {
      guardedStream(process.stdout).write(data, (e) => {
        if (!e) resolve();
        else if (readerGone((e as NodeJS.ErrnoException).code)) {
          stdoutClosed = true;
          resolve();
        } else reject(outputError(e));
      });
    } catch (e) {
      reject(outputError(e));
    }
  });
}

/**
 * The reader of stdout went away: EPIPE on a pipe, ECONNRESET when stdout is a socket (as a
 * parent process's stdio often is). Both end output quietly.
 */
function readerGone(code: string | undefined): boolean {
  return code === 'EPIPE' || code === 'ECONNRESET';
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
  if (enabled) writeError(`${termSafe(`diffai: ${text}`)}\n`);
}

/** A `diffai: …` line on stderr, unless --quiet. */
export function warn(quiet: boolean | undefined, text: string): void {
  if (!quiet) writeError(`${termSafe(`diffai: ${text}`)}\n`);
}
