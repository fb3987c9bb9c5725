/**
 * Output handed over in pieces: a renderer that streams writes text as it makes it, and the
 * writer passes it on in chunks of about CHUNK_CHARS to a sink that may make it wait (stdout
 * draining), so a report of a hundred thousand entries never exists as one string.
 */

/** Takes one chunk of output; resolves when the chunk may be followed by the next. */
export type Sink = (text: string) => Promise<void>;

/** Characters gathered before the sink is called: few calls, little held. */
export const CHUNK_CHARS = 1 << 16;

export class StreamWriter {
  private parts: string[] = [];
  private size = 0;

  constructor(
    private readonly sink: Sink,
    private readonly chunkChars = CHUNK_CHARS,
  ) {}

  /** Adds text; waits for the sink only when a chunk is full. */
  async write(text: string): Promise<void> {
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= this.chunkChars) await this.flush();
  }

  /** Passes on whatever is gathered (call once at the end). */
  async flush(): Promise<void> {
    if (this.size === 0) return;
    const text = this.parts.join('');
    this.parts = [];
    this.size = 0;
    await this.sink(text);
  }
}

/** A writer that gathers everything into one string (for callers that want the whole text). */
export function collectingWriter(): { writer: StreamWriter; text: () => string } {
  const chunks: string[] = [];
  const writer = new StreamWriter(async (text) => {
    chunks.push(text);
  });
  return { writer, text: () => chunks.join('') };
}
