/**
 * A piece of streamed output: text, or UTF-8 bytes that are only borrowed (the producer
 * reuses its buffer once the consumer asks for the next piece, see Renderer.pairChunks).
 */
export type OutputPiece = string | Uint8Array;

/**
 * Output written in pieces: small pieces are gathered into writes of about `size`
 * characters (bytes for byte pieces), and each write waits for its sink (a stream's
 * callback), so a producer of millions of lines keeps at most one piece in memory and never
 * outruns a slow reader. The first write waits until `hold` characters have gathered (or
 * the end): output shorter than that is written in one go at the end. A byte piece of at
 * least the threshold with nothing gathered before it goes to the sink as it is; a smaller
 * one is copied, since its bytes are only borrowed.
 */
export class StreamWriter {
  private held: OutputPiece[] = [];
  private chars = 0;
  private bytes = false;
  private threshold: number;

  constructor(
    private readonly sink: (piece: OutputPiece) => Promise<void>,
    private readonly size = 1 << 20,
    hold = size,
  ) {
    this.threshold = Math.max(size, hold);
  }

  /** Queues `piece`; resolves once what is queued is below the threshold (written otherwise). */
  async write(piece: OutputPiece): Promise<void> {
    if (typeof piece !== 'string') {
      if (this.held.length === 0 && piece.length >= this.threshold) {
        this.threshold = this.size;
        await this.sink(piece);
        return;
      }
      this.bytes = true;
      this.held.push(Uint8Array.prototype.slice.call(piece));
    } else {
      this.held.push(piece);
    }
    this.chars += piece.length;
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
    const held = this.held;
    const bytes = this.bytes;
    this.held = [];
    this.chars = 0;
    this.bytes = false;
    if (held.length === 1) await this.sink(held[0]!);
    else if (!bytes) await this.sink(held.join(''));
    else await this.sink(Buffer.concat(held.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p))));
  }
}
