/** Writing results: stdout for results, stderr for details; waits for pipes to drain. */
export function write(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(text, (e) => (e ? reject(e) : resolve()));
  });
}

export function verboseLine(enabled: boolean | undefined, text: string): void {
  if (enabled) process.stderr.write(`diffai: ${text}\n`);
}

/** A `diffai: …` line on stderr, unless --quiet. */
export function warn(quiet: boolean | undefined, text: string): void {
  if (!quiet) process.stderr.write(`diffai: ${text}\n`);
}
