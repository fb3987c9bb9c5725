/**
 * Reads kept ahead of the kernels (src/engine/read-ring.ts): the ring's order and bounds,
 * results bit-identical with 1 to N reads in flight or with inline reads (engine.ts ReadMode)
 * at odd chunk sizes and on 1 or 2 threads (and right against exact float64 references), a
 * read that fails mid-flight, and pool workers started ahead of their pool
 * (src/engine/worker-start.ts).
 */
import { spawnSync } from 'node:child_process';
import { truncateSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { comparison, tensorStats } from '../src/diff/stats.js';
import { DEFAULT_READS_IN_FLIGHT, type ReadMode, readsInFlight } from '../src/engine/engine.js';
import { type ComparedTensors, Executor, readModeFor } from '../src/engine/executor.js';
import { LocalFile } from '../src/io/file.js';
import { Kernels } from '../src/engine/kernels.js';
import { ReadRing } from '../src/engine/read-ring.js';
import { prestartWorkers, releaseSpareWorkers, spareWorkers, sparesReady, takeWorker } from '../src/engine/worker-start.js';
import { DiffaiError } from '../src/errors.js';
import { inspectFile } from '../src/index.js';
import type { TensorDescriptor } from '../src/formats/types.js';
import { expectComparison, expectStats } from './helpers/assert.js';
import { decode, Rng, randomBytes, type TestDType } from './helpers/dtypes.js';
import { exactCompare, exactStats } from './helpers/exact.js';
import { writeTensors } from './helpers/engine.js';
import { tempDir } from './helpers/files.js';

const tmp = tempDir('diffai-ring-');
afterAll(() => tmp.cleanup());

/** A ring over `count` chunks whose reads resolve when the test says; records what was issued when. */
function scriptedRing(count: number, depth: number) {
  const issued: Array<{ chunk: number; slot: number }> = [];
  const finish: Array<(error?: Error) => void> = [];
  const ring = new ReadRing(count, depth, (chunk, slot) => {
    issued.push({ chunk, slot });
    return new Promise<void>((resolve, reject) => {
      finish[chunk] = (error) => (error ? reject(error) : resolve());
    });
  });
  return { ring, issued, finish };
}

describe('ReadRing', () => {
  it('keeps `depth` reads under way, issues chunk c + depth only once chunk c has arrived, and never reuses a slot the kernels hold', async () => {
    for (const depth of [1, 2, 3, 5]) {
      const count = 11;
      const { ring, issued, finish } = scriptedRing(count, depth);
      expect(issued.map((r) => r.chunk)).toEqual(Array.from({ length: depth }, (_, i) => i));
      for (let c = 0; c < count; c++) {
        const taken = ring.take(c);
        // Nothing more is issued before chunk c arrives.
        expect(issued.length).toBe(Math.min(count, c + depth));
        finish[c]!();
        await taken;
        expect(issued.length).toBe(Math.min(count, c + depth + 1));
        // Reads under way now (issued, not yet taken): at most depth, and none in chunk c's slot.
        const pending = issued.filter((r) => r.chunk > c);
        expect(pending.length).toBeLessThanOrEqual(depth);
        for (const r of pending) expect(r.slot, `depth ${depth}, chunk ${c}`).not.toBe(ring.slot(c));
      }
      // Slots go round depth + 1 buffers.
      expect(issued.map((r) => r.slot)).toEqual(Array.from({ length: count }, (_, i) => i % (depth + 1)));
      for (let c = 0; c < count; c++) finish[c]!();
    }
  });

  it('a read that fails is reported when its chunk is taken; drain waits for the reads still under way and swallows their failures', async () => {
    const { ring, finish } = scriptedRing(6, 3);
    finish[0]!();
    await ring.take(0);
    finish[1]!(new Error('read 1 failed'));
    finish[2]!(new Error('read 2 failed too')); // under way, never taken: must not be unhandled
    await expect(ring.take(1)).rejects.toThrow('read 1 failed');
    let drained = false;
    const draining = ring.drain().then(() => {
      drained = true;
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(drained).toBe(false); // chunk 3's read is still writing
    finish[3]!();
    await draining;
    expect(drained).toBe(true);
  });

  it('with readNow, a thread waiting for its chunk reads the next chunks itself meanwhile, in chunk order, only into slots no chunk from it on holds', async () => {
    const count = 12;
    const slots = 3;
    const log: Array<{ chunk: number; slot: number; how: 'ahead' | 'now' }> = [];
    const finish: Array<() => void> = [];
    const ring = new ReadRing(
      count,
      1,
      (chunk, slot) => {
        log.push({ chunk, slot, how: 'ahead' });
        return new Promise<void>((resolve) => {
          finish[chunk] = resolve;
        });
      },
      { slots, readNow: (chunk, slot) => log.push({ chunk, slot, how: 'now' }) },
    );
    const held = new Set<number>();
    for (let c = 0; c < count; c++) {
      // The ahead read of chunk c (if any) arrives only after a while: the ring reads what it may meanwhile.
      const ahead = log.find((r) => r.chunk === c && r.how === 'ahead');
      const taken = ring.take(c);
      if (ahead) setTimeout(() => finish[c]!(), 20);
      await taken;
      held.clear();
      held.add(ring.slot(c));
      // Every chunk was issued once, in order, and none issued after c is in c's slot.
      expect(log.map((r) => r.chunk)).toEqual(Array.from({ length: log.length }, (_, i) => i));
      for (const r of log.filter((x) => x.chunk > c)) expect(held.has(r.slot), `chunk ${r.chunk} read into the slot chunk ${c} holds`).toBe(false);
      for (const r of log) expect(r.slot).toBe(r.chunk % slots);
    }
    expect(log).toHaveLength(count);
    // Waiting 20 ms for each ahead read, the ring read the chunks it could reach itself: most of them.
    expect(log.filter((r) => r.how === 'now').length).toBeGreaterThanOrEqual(count / 2);
    // Chunks whose ahead read had arrived were not read again.
    const quick = new ReadRing(5, 1, () => Promise.resolve(), { slots, readNow: () => log.push({ chunk: -1, slot: -1, how: 'now' }) });
    const before = log.length;
    for (let c = 0; c < 5; c++) {
      await new Promise((r) => setTimeout(r, 5));
      await quick.take(c);
    }
    expect(log.length).toBe(before);
    await ring.drain();
  });

  it('a chunk that readNow fails to read is reported when it is taken', async () => {
    const ring = new ReadRing(4, 1, () => new Promise((r) => setTimeout(r, 20)), {
      slots: 3,
      readNow: (chunk) => {
        if (chunk === 1) throw new Error('no read 1 now');
      },
    });
    await ring.take(0);
    await expect(ring.take(1)).rejects.toThrow('no read 1 now');
    await ring.drain();
  });

  it('a read that throws instead of returning a promise is reported the same way', async () => {
    const ring = new ReadRing(3, 2, (chunk) => {
      if (chunk === 1) throw new Error('no read 1');
      return Promise.resolve();
    });
    await ring.take(0);
    await expect(ring.take(1)).rejects.toThrow('no read 1');
    await ring.drain();
  });
});

describe('reads in flight: bounds', () => {
  it('an engine keeps at most its ring slots less one reads in flight per side, and the rings stay small', () => {
    const k = new Kernels({ tables: 'lazy' });
    expect(k.ringSlots).toBeGreaterThanOrEqual(2);
    // Both sides' rings: a few MiB each, whatever reads in flight are asked for (bounded RSS per engine thread).
    expect(2 * k.ringSlots * k.rawBytes).toBeLessThanOrEqual(32 << 20);
    expect(readsInFlight(undefined, k.ringSlots)).toBe(Math.min(DEFAULT_READS_IN_FLIGHT, k.ringSlots - 1));
    expect(readsInFlight(1, k.ringSlots)).toBe(1);
    expect(readsInFlight(1000, k.ringSlots)).toBe(k.ringSlots - 1);
    expect(readsInFlight(0, k.ringSlots)).toBe(1);
    expect(readsInFlight(2.7, k.ringSlots)).toBe(2);
  });

  it('the library refuses a readsInFlight that is not a positive integer, or reads that is not a read mode, naming the option', async () => {
    const [t] = writeTensors(tmp.path('opt'), [{ dtype: 'f32', bytes: randomBytes('f32', 10, new Rng(1)) }]);
    for (const bad of [0, -1, 1.5, '2']) {
      await expect(inspectFile(t!.source.path, { readsInFlight: bad as number })).rejects.toThrow(/readsInFlight/);
    }
    for (const bad of ['sync', '', 1, true]) {
      await expect(inspectFile(t!.source.path, { reads: bad as ReadMode })).rejects.toThrow(/reads.*'ahead' or 'inline'/);
    }
  });

  it('engine threads read inline once they take the cores (no core left to read for them), ahead otherwise', () => {
    expect(readModeFor(1, 2)).toBe('ahead');
    expect(readModeFor(2, 2)).toBe('inline');
    expect(readModeFor(1, 1)).toBe('inline');
    expect(readModeFor(2, 4)).toBe('ahead');
    expect(readModeFor(3, 4)).toBe('inline');
    expect(readModeFor(8, 16)).toBe('ahead');
  });
});

/**
 * Tensors whose element counts are odd (chunks never divide them) in f32 and bf16, for both
 * files of a pair; large enough for several reads of over 64 KiB (smaller reads are made at
 * once, in the engine's thread: src/io/file.ts READ_NOW_BYTES), so reads are truly under way.
 */
const PARTS: Array<{ dtype: TestDType; n: number }> = [
  { dtype: 'f32', n: 200_003 },
  { dtype: 'bf16', n: 300_007 },
  { dtype: 'f32', n: 31_327 },
];
/** Elements per chunk: small reads made at once; reads of 133 KB (f32) and 67 KB (bf16); of 280 and 140 KB; the default. */
const CHUNK_SIZES = [997, 33_331, 70_001, undefined];

function writePair(seed = 17): { a: TensorDescriptor[]; b: TensorDescriptor[]; bytesA: Uint8Array[]; bytesB: Uint8Array[] } {
  const rng = new Rng(seed);
  const bytesA = PARTS.map((p) => randomBytes(p.dtype, p.n, rng, true));
  // B: A's bytes with every 7th element replaced (a sparse change, as a fine-tune).
  const bytesB = bytesA.map((bytes, i) => {
    const size = bytes.length / PARTS[i]!.n;
    const other = randomBytes(PARTS[i]!.dtype, PARTS[i]!.n, rng, true);
    const out = bytes.slice();
    for (let e = 0; e < PARTS[i]!.n; e += 7) out.set(other.subarray(e * size, (e + 1) * size), e * size);
    return out;
  });
  const a = writeTensors(
    tmp.path('a'),
    PARTS.map((p, i) => ({ dtype: p.dtype, bytes: bytesA[i]! })),
  );
  const b = writeTensors(
    tmp.path('b'),
    PARTS.map((p, i) => ({ dtype: p.dtype, bytes: bytesB[i]! })),
  );
  return { a, b, bytesA, bytesB };
}

/** The pairs compared: each tensor against its changed copy, and an f32 tensor against a bf16 one (sides of different element sizes). */
function pairsOf(a: TensorDescriptor[], b: TensorDescriptor[]): Array<[TensorDescriptor, TensorDescriptor]> {
  const cut = (t: TensorDescriptor, n: number): TensorDescriptor => ({
    ...t,
    shape: [n],
    numel: n,
    source: { ...t.source, length: n * (t.dtype === 'f32' ? 4 : 2) },
  });
  return [...a.map((t, i) => [t, b[i]!] as [TensorDescriptor, TensorDescriptor]), [cut(a[0]!, 31_327), cut(b[1]!, 31_327)]];
}

async function compareAll(
  pairs: Array<[TensorDescriptor, TensorDescriptor]>,
  options: { threads: number; chunkElements?: number; readsInFlight?: number; reads?: ReadMode },
): Promise<ComparedTensors[]> {
  const executor = new Executor(options);
  try {
    return await Promise.all(pairs.map(([x, y]) => executor.compare(x, y, 0)));
  } finally {
    await executor.close();
  }
}

describe('reads in flight: results', () => {
  const { a, b, bytesA, bytesB } = writePair();
  const pairs = pairsOf(a, b);

  it('are bit-identical with 1, 2, 3 and more reads in flight and with inline reads, at odd chunk sizes, on 1 and 2 threads; and match exact references', async () => {
    // Independent references: exact sums of the decoded elements.
    const values = [
      ...PARTS.map((p, i) => [decode(bytesA[i]!, p.dtype), decode(bytesB[i]!, p.dtype)]),
      [decode(bytesA[0]!, 'f32').slice(0, 31_327), decode(bytesB[1]!, 'bf16').slice(0, 31_327)],
    ];
    const refs = values.map(([x, y]) => ({ a: exactStats(x!), b: exactStats(y!), c: exactCompare(x!, y!) }));
    for (const chunkElements of CHUNK_SIZES) {
      const first = await compareAll(pairs, { threads: 1, chunkElements, readsInFlight: 1, reads: 'ahead' });
      for (const [threads, depths] of [
        [1, [2, 3, 64]],
        [2, [1, 3]],
      ] as const) {
        for (const depth of depths) {
          const got = await compareAll(pairs, { threads, chunkElements, readsInFlight: depth, reads: 'ahead' });
          expect(got, `chunk ${chunkElements}, ${threads} threads, ${depth} in flight`).toEqual(first);
        }
        const inline = await compareAll(pairs, { threads, chunkElements, reads: 'inline' });
        expect(inline, `chunk ${chunkElements}, ${threads} threads, inline reads`).toEqual(first);
      }
      first.forEach((r, i) => {
        const label = `chunk ${chunkElements}, pair ${i}`;
        expectStats(tensorStats(pairs[i]![0], r.a), refs[i]!.a, `${label} A`);
        expectStats(tensorStats(pairs[i]![1], r.b), refs[i]!.b, `${label} B`);
        expectComparison(comparison(r.comparison), refs[i]!.c, label);
      });
    }
  }, 240_000);

  it.each(['ahead', 'inline'] as const)(
    'a file cut short while its reads are under way (%s): the failure names the file, and the engine stays usable',
    async (reads) => {
      const parts = [{ dtype: 'f32' as const, bytes: randomBytes('f32', 300_001, new Rng(5)) }];
      const [t] = writeTensors(tmp.path(`cut-${reads}`), parts);
      // Reads of 133 KB, three under way (ahead): the one that fails is issued while others are in flight.
      const executor = new Executor({ threads: 1, chunkElements: 33_331, readsInFlight: 3, reads });
      try {
        // The first run opens the file (the engine keeps its handle and size), then the data goes.
        const whole = await executor.stats(t!);
        expect(whole.stats.count).toBe(300_001);
        truncateSync(t!.source.path, t!.source.offset + 500_000);
        const failure = await executor.stats(t!).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(failure).toBeInstanceOf(DiffaiError);
        const error = failure as DiffaiError;
        expect(error.file).toBe(t!.source.path);
        expect(error.line).toMatch(/end of file|truncated/);
        expect(error.line.split('\n')).toHaveLength(1);
        // Nothing was left writing into the engine's memory: a tensor that is whole still reads right.
        const head: TensorDescriptor = { ...t!, shape: [100_000], numel: 100_000, source: { ...t!.source, length: 400_000 } };
        const again = await executor.stats(head);
        expectStats(tensorStats(head, again), exactStats(decode(parts[0]!.bytes.subarray(0, 400_000), 'f32')), 'head after the failure');
      } finally {
        await executor.close();
      }
    },
  );
});

describe('inline reads', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("read every chunk of a local file at once on the engine's thread, in reads of about 1 MiB; read-ahead goes through libuv's pool", async () => {
    const n = 1_000_003;
    const bytes = randomBytes('f32', n, new Rng(9));
    const [t] = writeTensors(tmp.path('inline'), [{ dtype: 'f32', bytes }]);
    const reference = exactStats(decode(bytes, 'f32'));
    for (const reads of ['ahead', 'inline'] as const) {
      const later = vi.spyOn(LocalFile.prototype, 'readAt');
      const now = vi.spyOn(LocalFile.prototype, 'readInto');
      const executor = new Executor({ threads: 1, reads });
      try {
        expectStats(tensorStats(t!, await executor.stats(t!)), reference, reads);
      } finally {
        await executor.close();
      }
      const sizes = now.mock.calls.map(([target]) => target.length).filter((size) => size > 64 << 10);
      if (reads === 'ahead') {
        // Through libuv's pool, at least the first chunk; chunks this thread read itself while waiting (read-ring.ts) at once; every byte once.
        const ahead = later.mock.calls.map(([target]) => target.length);
        expect(ahead.length).toBeGreaterThan(0);
        expect([...ahead, ...sizes].reduce((x, y) => x + y, 0)).toBe(n * 4);
      } else {
        expect(later).not.toHaveBeenCalled();
        // 4,000,012 bytes: three reads of 1 MiB and the rest.
        expect(sizes).toEqual([1 << 20, 1 << 20, 1 << 20, n * 4 - 3 * (1 << 20)]);
      }
      vi.restoreAllMocks();
    }
  });
});

describe('workers started ahead of their pool', () => {
  it('a pool takes a started worker, which has the kernels and gives the same results', async () => {
    const { a, b } = writePair();
    const pairs = pairsOf(a, b);
    const single = await compareAll(pairs, { threads: 1, chunkElements: 33_331 });
    prestartWorkers(1, { chunkElements: 33_331 });
    prestartWorkers(1, { chunkElements: 1_000 });
    expect(spareWorkers()).toBe(2);
    const pooled = await compareAll(pairs, { threads: 2, chunkElements: 33_331 });
    expect(pooled).toEqual(single);
    // The pool took the spare made with its settings, not the other one.
    expect(spareWorkers()).toBe(1);
    const other = takeWorker({ chunkElements: 1_000 });
    expect(spareWorkers()).toBe(0);
    await other.ready;
    await other.worker.terminate();
  });

  it('a booted worker given a second job while it runs one runs them one after another (same results as one thread)', async () => {
    // Eight pairs of several async reads each, all queued at once: the worker, ready from the
    // start, is handed two jobs (pool.ts freeWorker); run together they would share its buffers.
    const pairs: Array<[TensorDescriptor, TensorDescriptor]> = [];
    for (let i = 0; i < 4; i++) {
      const { a, b } = writePair(100 + i);
      pairs.push(...pairsOf(a, b).slice(0, 2));
    }
    const single = await compareAll(pairs, { threads: 1, chunkElements: 33_331 });
    prestartWorkers(1, { chunkElements: 33_331 });
    await sparesReady();
    const pooled = await compareAll(pairs, { threads: 2, chunkElements: 33_331 });
    expect(spareWorkers()).toBe(0);
    expect(pooled).toEqual(single);
  });

  it('workers no pool takes do not keep a process alive, and releaseSpareWorkers ends them', async () => {
    prestartWorkers(2, { readsInFlight: 2 });
    expect(spareWorkers()).toBe(2);
    await releaseSpareWorkers();
    expect(spareWorkers()).toBe(0);
    // A fresh process that starts workers and never makes a pool exits on its own (killed, with no status, if it hung).
    const script = `import { prestartWorkers } from ${JSON.stringify(join(process.cwd(), 'dist/src/engine/worker-start.js'))}; prestartWorkers(2); setTimeout(() => {}, 50);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
  });
});
