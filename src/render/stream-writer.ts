/**
 * Output written in pieces: small strings are gathered into writes of about `size`
 * characters, and each write waits for its sink (a stream's callback), so a producer of
 * millions of lines keeps at most one piece in memory and never outruns a slow reader.
 */
export class StreamWriter {
  private held: string[] = [];
  private chars = 0;

  constructor(
    private readonly sink: (text: string) => Promise<void>,
    private readonly size = 1 << 20,
  ) {}

  /** Queues `text`; resolves once what is queued is below `size` characters (written otherwise). */
  async write(text: string): Promise<void> {
    this.held.push(text);
    this.chars += text.length;
    if (this.chars >= this.size) await this.flush();
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
