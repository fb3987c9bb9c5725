/**
 * The chunk reads of one streamed item, kept `depth` ahead of the kernels: chunk c is read
 * into slot c mod `slots` of each side's ring of raw buffers (Kernels.ringSlots), and the
 * read of chunk c + depth is issued as soon as chunk c has arrived — into a slot the kernels
 * have finished with — so while the kernels run on one slot, `depth` reads are under way.
 *
 * With `readNow` (positional reads of local files, which this thread can also make itself)
 * and a slot to spare, a thread that would wait for its chunk reads the next chunks itself
 * meanwhile: when reading is slower than the kernels (statistics of one f32 tensor: the
 * kernel runs at ~11 GB/s, one reader at ~5.6), the two cores share the reading instead of
 * one reading while the other waits; when the kernels are slower, chunks have arrived by the
 * time they are taken and nothing changes.
 *
 * A read that fails is reported when its chunk is taken; `drain` waits for every read still
 * writing into WASM memory.
 */
export interface ReadRingOptions {
  /** Slots per side (default depth + 1); a slot beyond depth + 1 lets `readNow` work ahead. */
  slots?: number;
  /** Reads a chunk into a slot at once, on this thread (throws on failure). */
  readNow?: (chunk: number, slot: number) => void;
}

export class ReadRing {
  private reads: Array<Promise<unknown> | undefined>;
  /** Per slot: its read has settled (its callback ran), so taking it will not wait. */
  private arrived: boolean[];
  private issued = 0;
  /** Reads issued to the pool and not yet taken (at most depth). */
  private ahead = 0;
  /** Per slot: its chunk was read ahead (not by readNow). */
  private wasAhead: boolean[];
  private readonly slots: number;
  private readonly readNow?: (chunk: number, slot: number) => void;

  /**
   * `count` chunks; `read(chunk, slot)` starts the read of one chunk into one slot (the
   * caller maps the slot to its buffers) and is called in chunk order.
   */
  constructor(
    private readonly count: number,
    readonly depth: number,
    private readonly read: (chunk: number, slot: number) => Promise<unknown>,
    options: ReadRingOptions = {},
  ) {
    this.slots = Math.max(depth + 1, options.slots ?? depth + 1);
    this.readNow = options.readNow;
    this.reads = new Array(this.slots);
    this.arrived = new Array(this.slots).fill(false);
    this.wasAhead = new Array(this.slots).fill(false);
    this.fill(-1);
  }

  /** The slot chunk c is read into. */
  slot(chunk: number): number {
    return chunk % this.slots;
  }

  /**
   * Waits for chunk c (taken in order, each once; the caller has finished with every chunk
   * before it), reading later chunks at once while it is under way (readNow), then issues
   * reads to the pool until `depth` are under way again (without readNow: up to c + depth).
   */
  async take(chunk: number): Promise<void> {
    const slot = this.slot(chunk);
    if (this.readNow) {
      // A read that has finished reports on the next turn of the event loop: let it, and
      // work only while the chunk is truly still on its way; the pool goes on reading
      // further chunks meanwhile.
      while (!this.arrived[slot]) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (this.arrived[slot] || !this.helpWith(chunk)) break;
        this.fill(chunk);
      }
    }
    const read = this.reads[slot];
    this.reads[slot] = undefined;
    if (this.wasAhead[slot]) {
      this.wasAhead[slot] = false;
      this.ahead--;
    }
    await read;
    this.fill(chunk);
  }

  /** Waits until no read is writing into the ring (failures are ignored: they were or will not be reported). */
  async drain(): Promise<void> {
    for (let s = 0; s < this.reads.length; s++) {
      const read = this.reads[s];
      this.reads[s] = undefined;
      await read?.catch(() => undefined);
    }
  }

  /**
   * Reads the next chunk not yet issued at once, while chunk `taking` is on its way: only into
   * a slot no chunk from `taking` on holds. False when there is none to read.
   */
  private helpWith(taking: number): boolean {
    const next = this.issued;
    if (next >= this.count || next >= taking + this.slots) return false;
    const slot = this.slot(next);
    let read: Promise<unknown> | undefined;
    try {
      this.readNow!(next, slot);
    } catch (e) {
      read = Promise.reject(e);
      read.catch(() => undefined); // reported when its chunk is taken
    }
    this.reads[slot] = read;
    this.arrived[slot] = true;
    this.issued++;
    return true;
  }

  /** Issues reads to the pool while fewer than depth are under way, into slots no chunk from `taking` on holds. */
  private fill(taking: number): void {
    for (; this.ahead < this.depth && this.issued < taking + this.slots && this.issued < this.count; this.issued++) {
      const slot = this.slot(this.issued);
      let read: Promise<unknown>;
      try {
        read = this.read(this.issued, slot);
      } catch (e) {
        read = Promise.reject(e);
      }
      this.arrived[slot] = false;
      this.wasAhead[slot] = true;
      this.ahead++;
      // Arrived either way (a failure is reported when its chunk is taken); handling both also
      // keeps a failure from being unhandled until take() or drain() awaits it.
      const settle = () => {
        if (this.reads[slot] === read) this.arrived[slot] = true;
      };
      read.then(settle, settle);
      this.reads[slot] = read;
    }
  }
}
