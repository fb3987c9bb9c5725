// Working memory of one kernel instance: a ring of raw chunks per side (bytes as read from the file), two
// scratch areas (chunks widened to f32/f64 for the non-native dtypes), tables, and the
// result records the host reads after each call. Sizes are fixed at init so the host can
// hold views on memory that never grows afterwards.

// Reads of 2 MiB: each is a round trip to libuv's thread pool, and 1 MiB reads spent ~2× the
// time of 2 MiB ones on this VM (4 MiB gained little more and costs RSS in every thread). The
// kernels take ~1 MiB at a time from them (src/engine/pipeline.ts KERNEL_CHUNK_BYTES).
export const RAW_BYTES: usize = 2 << 20;
// Raw slots per side, one after another: the host keeps up to RING_SLOTS − 1 reads in flight
// while the kernels run on the remaining slot (src/engine/read-ring.ts).
export const RING_SLOTS: usize = 4;
export const SCRATCH_BYTES: usize = 4 << 20;   // u8 → f32 widens 4×
export const OUT_SLOTS: usize = 16;
// Regions of the histogram, per-row and matrix–vector kernels (assembly/histogram.ts,
// rows.ts, matvec.ts): ≈ 9.1 MiB more per instance, reserved here so memory never grows.
export const HIST_MAX_BINS: usize = 1024;
export const HIST_HEADER_SLOTS: usize = 8;      // underflow, overflow, nan, +inf, −inf, 3 spare
export const ROWS_OUT_BYTES: usize = 1 << 20;   // per-row records (rows.ts gives record sizes)
export const VEC_BYTES: usize = 4 << 20;        // one n×k f64 vector block: n·k ≤ 524,288
// Column-job batches (assembly/batch.ts): items per call, 12 bytes each in, ≤ 29 f64 records out.
export const BATCH_ITEMS: usize = 1024;
const BATCH_IN_BYTES: usize = BATCH_ITEMS * 12;
const BATCH_OUT_BYTES: usize = BATCH_ITEMS * 29 * 8;

// The first of each side's RING_SLOTS raw slots (RAW_BYTES each, contiguous).
export let rawA: usize = 0;
export let rawB: usize = 0;
export let scratchA: usize = 0;
export let scratchB: usize = 0;
export let statsOut: usize = 0;
export let compareOut: usize = 0;
export let statsOutB: usize = 0;    // side B's record from the fused kernel
export let f16Table: usize = 0;     // 65,536 f32: f16 bits → f32
export let e4m3Table: usize = 0;    // 256 f32
export let e5m2Table: usize = 0;    // 256 f32
export let e4m3fnuzTable: usize = 0; // 256 f32
export let e5m2fnuzTable: usize = 0; // 256 f32
export let histOut: usize = 0;      // (HIST_HEADER_SLOTS + HIST_MAX_BINS) f64
export let histWork: usize = 0;     // 4 × HIST_MAX_BINS u32: one sub-histogram per lane
export let rowsOut: usize = 0;
export let rowsTemp: usize = 0;     // one per-row record: the fast path's trial copy
export let vecX: usize = 0;
export let vecY: usize = 0;
export let batchIn: usize = 0;
export let batchOut: usize = 0;

function alignedAlloc(bytes: usize): usize {
  // Over-allocate so the block can start on a 64-byte boundary.
  const raw = heap.alloc(bytes + 64);
  return (raw + 63) & ~(<usize>63);
}

export function allocateLayout(): void {
  // Grow memory once, for everything below (the large regions plus 1 MiB for the tables and
  // records): the allocator would otherwise grow it step by step, and each step can copy the
  // whole memory (measured: ~10 ms of start-up).
  const total: usize = (<usize>2) * RING_SLOTS * RAW_BYTES + (<usize>2) * SCRATCH_BYTES + ROWS_OUT_BYTES + (<usize>2) * VEC_BYTES + BATCH_IN_BYTES + BATCH_OUT_BYTES + (<usize>1 << 20);
  memory.grow(<i32>((total + 0xffff) >> 16));
  rawA = alignedAlloc(RING_SLOTS * RAW_BYTES);
  rawB = alignedAlloc(RING_SLOTS * RAW_BYTES);
  scratchA = alignedAlloc(SCRATCH_BYTES);
  scratchB = alignedAlloc(SCRATCH_BYTES);
  statsOut = alignedAlloc(OUT_SLOTS * 8);
  compareOut = alignedAlloc(OUT_SLOTS * 8);
  statsOutB = alignedAlloc(OUT_SLOTS * 8);
  f16Table = alignedAlloc(65536 * 4);
  e4m3Table = alignedAlloc(256 * 4);
  e5m2Table = alignedAlloc(256 * 4);
  e4m3fnuzTable = alignedAlloc(256 * 4);
  e5m2fnuzTable = alignedAlloc(256 * 4);
  histOut = alignedAlloc((HIST_HEADER_SLOTS + HIST_MAX_BINS) * 8);
  histWork = alignedAlloc(4 * HIST_MAX_BINS * 4);
  rowsOut = alignedAlloc(ROWS_OUT_BYTES);
  rowsTemp = alignedAlloc(512);
  vecX = alignedAlloc(VEC_BYTES);
  vecY = alignedAlloc(VEC_BYTES);
  batchIn = alignedAlloc(BATCH_IN_BYTES);
  batchOut = alignedAlloc(BATCH_OUT_BYTES);
}
