/** Characters per write: a 40 MB report is never converted to bytes in one piece. */
const WRITE_CHARS = 1 << 20;

/** Writing results: stdout for results, stderr for details; waits for pipes to drain. */
export async function write(text: string): Promise<void> {
  let at = 0;
  do {
    let end = Math.min(text.length, at + WRITE_CHARS);
    // Never split a surrogate pair between two writes (each half would become U+FFFD).
    if (end < text.length && isHighSurrogate(text.charCodeAt(end - 1))) end--;
    const piece = at === 0 && end === text.length ? text : text.slice(at, end);
    await new Promise<void>((resolve, reject) => {
      process.stdout.write(piece, (e) => (e ? reject(e) : resolve()));
    });
    at = end;
  } while (at < text.length);
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

export function verboseLine(enabled: boolean, text: string): void {
  if (enabled) process.stderr.write(`diffai: ${text}\n`);
}
