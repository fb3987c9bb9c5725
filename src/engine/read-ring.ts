/**
 * The chunk reads of one streamed item, kept `depth` ahead of the kernels: chunk c is read
 * into slot c mod (depth + 1) of each side's ring of raw buffers (Kernels.ringSlots), and the
 * read of chunk c + depth is issued as soon as chunk c has arrived — into the slot the kernels
 * finished with last — so while the kernels run on one slot, `depth` reads are under way.
 * A read that fails is reported when its chunk is taken; `drain` waits for every read still
 * writing into WASM memory.
 */
export class ReadRing {
  private reads: Array<Promise<unknown> | undefined>;
  private issued = 0;

  /**
   * `count` chunks; `read(chunk, slot)` starts the read of one chunk into one slot (the
   * caller maps the slot to its buffers) and is called in chunk order.
   */
  constructor(
    private readonly count: number,
    readonly depth: number,
    private readonly read: (chunk: number, slot: number) => Promise<unknown>,
  ) {
    this.reads = new Array(depth + 1);
    this.fill(depth - 1);
  }

  /** The slot chunk c is read into. */
  slot(chunk: number): number {
    return chunk % (this.depth + 1);
  }

  /**
   * Waits for chunk c (taken in order, each once), then issues the reads up to c + depth: the
   * slot of chunk c + depth is the one chunk c − 1 used, which the caller has finished with.
   */
  async take(chunk: number): Promise<void> {
    const slot = this.slot(chunk);
    const read = this.reads[slot];
    this.reads[slot] = undefined;
    await read;
    this.fill(chunk + this.depth);
  }

  /** Waits until no read is writing into the ring (failures are ignored: they were or will not be reported). */
  async drain(): Promise<void> {
    for (let s = 0; s < this.reads.length; s++) {
      const read = this.reads[s];
      this.reads[s] = undefined;
      await read?.catch(() => undefined);
    }
  }

  private fill(last: number): void {
    for (; this.issued <= last && this.issued < this.count; this.issued++) {
      let read: Promise<unknown>;
      try {
        read = this.read(this.issued, this.slot(this.issued));
      } catch (e) {
        read = Promise.reject(e);
      }
      // Awaited by take() or drain(); until then a failure is not unhandled.
      read.catch(() => undefined);
      this.reads[this.slot(this.issued)] = read;
    }
  }
}
