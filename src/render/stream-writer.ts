/**
 * Output written in pieces: small strings are gathered into writes of about `size`
 * characters, and each write waits for its sink (a stream's callback), so a producer of
 * millions of lines keeps at most one piece in memory and never outruns a slow reader.
 * The first write waits until `hold` characters have gathered (or the end): output shorter
 * than that is written in one go at the end.
 */
export class StreamWriter {
  private held: string[] = [];
  private chars = 0;
  private threshold: number;

  constructor(
    private readonly sink: (text: string) => Promise<void>,
    private readonly size = 1 << 20,
    hold = size,
  ) {
    this.threshold = Math.max(size, hold);
  }

  /** Queues `text`; resolves once what is queued is below the threshold (written otherwise). */
  async write(text: string): Promise<void> {
    this.held.push(text);
    this.chars += text.length;
    if (this.chars >= this.threshold) {
      this.threshold = this.size;
      await this.flush();
    }
  }

  /** Writes what is left. */
  async end(): Promise<void> {
    await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.chars === 0 && this.held.length === 0) return;
    const text = this.held.length === 1 ? this.held[0]! : this.held.join('');
    this.held = [];
    this.chars = 0;
    await this.sink(text);
  }
}
