/**
 * A remote file read by HTTP Range requests, behind the same interface as a local file, so
 * every reader and the engine read it unchanged.
 *
 * - Opening fetches the first FIRST_WINDOW bytes (the size comes with them): a safetensors
 *   header below that size costs that one request; a larger one, one more.
 * - Readers' small reads are served from a block cache shared by every handle of the file
 *   (the sniffing, the reader, the engine), so header reads coalesce.
 * - The engine's sequential chunk reads are served from one long range request per
 *   STREAM_WINDOW bytes, pulled as the chunks are consumed (bounded memory): a 1 GiB tensor
 *   costs a handful of requests, not a thousand.
 * - `readRanges` fetches many small scattered ranges at once: coalesced, a few requests in
 *   parallel, batch by batch (bounded memory).
 * - `expect` takes byte checks a reader could not afford to read at once (the zip local
 *   headers of a remote archive, placed from the central directory): each is checked before
 *   any byte it guards is handed out, from bytes a stream passes anyway where it can.
 */
import type { Readable } from 'node:stream';
import { DiffaiError } from '../errors.js';
import { coalesceRanges } from './coalesce.js';
import { fetchRange, openRange, type RangeBody, type RemoteState } from './http-range.js';
import type { ByteCheck, ByteFile } from './random-access.js';
import { resolveRemote } from './remote-path.js';
import { fetchRangeSync, fetchRangesSync } from './remote-sync.js';
import { lazyBuiltin } from '../lazy-builtin.js';

// node:stream on first use: loading it costs a local run's start-up a few ms.
const streams = lazyBuiltin<typeof import('node:stream')>('node:stream');

/** The first request of a file: covers the headers of most safetensors/GGUF/npy files. */
export const FIRST_WINDOW = 256 << 10;
const BLOCK = 64 << 10;
/** Cached blocks over all remote files (16 MiB). */
const MAX_CACHED_BLOCKS = 256;
/** Fetches longer than this are handed over without being cached. */
const CACHE_FETCH_LIMIT = 4 << 20;
/** One streaming request covers this much of a sequential read. */
export const STREAM_WINDOW = 256 << 20;
/** A stream this close behind a read skips forward instead of a new request. */
const STREAM_SKIP = 1 << 20;
/** Open sequential streams per handle (two sides of a tensor pair in one file, a span …). */
const MAX_STREAMS = 4;
/** readRanges: ranges closer than this merge into one request (a round trip costs more than fetching 256 KiB); no merged request is longer than RANGES_MAX_REQUEST. */
const RANGES_GAP = 256 << 10;
const RANGES_MAX_REQUEST = 4 << 20;
/** readRanges holds at most this many fetched bytes at once. */
const RANGES_BATCH_BYTES = 16 << 20;

/** A ByteCheck and whether this thread has checked it. */
interface Check extends ByteCheck {
  verified: boolean;
}

interface Resource {
  state: RemoteState;
  /** The server said there is no such file (a sibling looked for: asked once per run). */
  absent?: boolean;
  /** Guarded byte ranges, sorted by guardStart (they do not overlap). */
  checks: Check[];
}

const resources = new Map<string, Resource>();
/** Block cache: `${label}\0${index}` → bytes, in least-recently-used order. */
const blocks = new Map<string, Uint8Array>();

function resourceOf(label: string): Resource {
  let r = resources.get(label);
  if (!r) {
    r = { state: { target: resolveRemote(label) }, checks: [] };
    resources.set(label, r);
  }
  return r;
}

function blockKey(label: string, index: number): string {
  return `${label}\0${index}`;
}

function getBlock(label: string, index: number): Uint8Array | undefined {
  const key = blockKey(label, index);
  const b = blocks.get(key);
  if (b) {
    blocks.delete(key);
    blocks.set(key, b);
  }
  return b;
}

function putBlock(label: string, index: number, bytes: Uint8Array): void {
  const key = blockKey(label, index);
  blocks.delete(key);
  blocks.set(key, bytes);
  while (blocks.size > MAX_CACHED_BLOCKS) blocks.delete(blocks.keys().next().value!);
}

/** What a helper thread needs to open the same files without asking their size again (and the checks still to make). */
export type RemoteSeed = [label: string, size: number, etag: string | undefined, resolved: string | undefined, whole: Uint8Array | undefined, checks: Check[]];

/** The known remote files, for engine workers (`seedRemoteFiles` there). */
export function remoteSeeds(): RemoteSeed[] {
  return [...resources]
    .filter(([, r]) => r.state.size !== undefined)
    .map(([label, r]) => [label, r.state.size!, r.state.etag, r.state.resolved, r.state.whole, r.checks]);
}

export function seedRemoteFiles(seeds: RemoteSeed[]): void {
  for (const [label, size, etag, resolved, whole, checks] of seeds) {
    const r = resourceOf(label);
    Object.assign(r.state, { size, etag, resolved, whole });
    r.checks = checks;
  }
}

/** True when the server already answered that `label` does not exist. */
export function remoteAbsent(label: string): boolean {
  return resources.get(label)?.absent === true;
}

export function markRemoteAbsent(label: string): void {
  resourceOf(label).absent = true;
}

/** Forgets every remote file's size and cached blocks (the end of a library call). */
export function forgetRemoteFiles(): void {
  resources.clear();
  blocks.clear();
}

/** An open sequential range request and the file position its next byte is at. */
interface Stream {
  body: RangeBody;
  busy: boolean;
}

export class RemoteFile implements ByteFile {
  readonly size: number;
  private readonly state: RemoteState;
  private readonly resource: Resource;
  private streams: Stream[] = [];

  private constructor(readonly path: string) {
    this.resource = resourceOf(path);
    this.state = this.resource.state;
    if (this.state.size === undefined) this.fill(0, FIRST_WINDOW);
    this.size = this.state.size!;
  }

  static open(path: string): RemoteFile {
    return new RemoteFile(path);
  }

  private checkBounds(position: number, length: number): void {
    if (!(position >= 0) || !(length >= 0) || position + length > this.size) {
      throw new DiffaiError(this.path, `truncated: needs bytes ${position}..${position + length} but the file has ${this.size}`);
    }
  }

  /** Fetches `start..end-1` synchronously and caches its whole blocks (when the fetch is small). */
  private fill(start: number, end: number): Uint8Array {
    const bytes = fetchRangeSync(this.state, start, end);
    this.cacheBlocks(start, bytes);
    return bytes;
  }

  /** Caches the whole blocks of `bytes` (fetched from block-aligned `start`), unless the fetch is large. */
  private cacheBlocks(start: number, bytes: Uint8Array): void {
    if (this.state.whole || bytes.length > CACHE_FETCH_LIMIT) return;
    for (let at = 0; at < bytes.length; at += BLOCK) {
      // The file's last block is short; every other one is whole.
      if (at + BLOCK <= bytes.length || start + bytes.length === this.state.size) putBlock(this.path, (start + at) / BLOCK, bytes.subarray(at, at + BLOCK));
    }
  }

  read(position: number, length: number): Buffer {
    this.checkBounds(position, length); // before allocating: `length` may come from a corrupt field
    const out = Buffer.allocUnsafe(length);
    this.readInto(out, position);
    return out;
  }

  readUpTo(position: number, length: number): Buffer {
    return this.read(position, Math.max(0, Math.min(length, this.size - position)));
  }

  readInto(target: Uint8Array, position: number): void {
    this.checkBounds(position, target.length);
    if (target.length === 0) return;
    const pending = this.pendingChecks(position, target.length);
    for (const c of pending) if (c.position < position) this.confirm(c, this.read(c.position, c.expected.length), true);
    this.readUnchecked(target, position);
    for (const c of pending) if (c.position >= position) this.confirm(c, target.subarray(c.position - position));
  }

  /** readInto without the checks (their own bytes are read so). */
  private readUnchecked(target: Uint8Array, position: number): void {
    const whole = this.state.whole;
    if (whole) {
      target.set(whole.subarray(position, position + target.length));
      return;
    }
    const end = position + target.length;
    const first = Math.floor(position / BLOCK);
    const last = Math.floor((end - 1) / BLOCK);
    let lo = -1;
    let hi = -1;
    for (let b = first; b <= last; b++) {
      if (!getBlock(this.path, b)) {
        if (lo < 0) lo = b;
        hi = b;
      }
    }
    let fetched: Uint8Array | undefined;
    if (lo >= 0) fetched = this.fill(lo * BLOCK, Math.min(this.size, (hi + 1) * BLOCK));
    for (let b = first; b <= last; b++) {
      const from = Math.max(position, b * BLOCK);
      const to = Math.min(end, (b + 1) * BLOCK);
      // Blocks of the fetch come from it (the cache may not have kept them all).
      const bytes =
        fetched && b >= lo && b <= hi
          ? fetched.subarray(from - lo * BLOCK, to - lo * BLOCK)
          : getBlock(this.path, b)?.subarray(from - b * BLOCK, to - b * BLOCK);
      if (!bytes || bytes.length !== to - from) throw new DiffaiError(this.path, `short read at byte ${from}`);
      target.set(bytes, from - position);
    }
  }

  /** Engine reads: cached bytes when all there, else a sequential stream (one request per STREAM_WINDOW). */
  async readAt(target: Uint8Array, position: number): Promise<void> {
    this.checkBounds(position, target.length);
    if (target.length === 0) return;
    if (this.state.whole || this.cached(position, target.length)) {
      this.readInto(target, position);
      return;
    }
    const pending = this.pendingChecks(position, target.length);
    for (const c of pending) {
      if (c.position >= position) continue;
      const bytes = new Uint8Array(c.expected.length);
      // Just before the read: through the stream that goes on to the data; far behind (a
      // helper thread starting inside a tensor): one small request of its own.
      if (position - c.position <= STREAM_SKIP) await this.readStreamed(bytes, c.position);
      else bytes.set(await fetchRange(this.state, c.position, c.position + bytes.length));
      this.confirm(c, bytes, true);
    }
    await this.readStreamed(target, position);
    for (const c of pending) if (c.position >= position) this.confirm(c, target.subarray(c.position - position));
  }

  private async readStreamed(target: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < target.length) {
      const at = position + done;
      const stream = await this.streamAt(at, target.length - done);
      try {
        const n = Math.min(target.length - done, stream.body.end - at);
        await stream.body.read(target.subarray(done, done + n));
        done += n;
      } catch (e) {
        this.drop(stream);
        throw e;
      } finally {
        stream.busy = false;
      }
      if (stream.body.position >= stream.body.end) this.drop(stream);
    }
  }

  expect(checks: ByteCheck[]): void {
    const all = this.resource.checks;
    // The same file described again (another handle) brings the same checks: kept once.
    const known = new Set(all.map((c) => c.position));
    for (const c of checks) if (!known.has(c.position)) all.push({ ...c, verified: false });
    all.sort((x, y) => x.guardStart - y.guardStart);
  }

  /** Unverified checks guarding bytes of `position..position+length-1`, in order. */
  private pendingChecks(position: number, length: number): Check[] {
    const all = this.resource.checks;
    if (all.length === 0) return [];
    // Guards are sorted and disjoint: the first that may reach the range, by binary search.
    let lo = 0;
    let hi = all.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (all[mid]!.guardEnd <= position) lo = mid + 1;
      else hi = mid;
    }
    const out: Check[] = [];
    for (let i = lo; i < all.length && all[i]!.guardStart < position + length; i++) if (!all[i]!.verified) out.push(all[i]!);
    return out;
  }

  /** Compares the check's bytes (at the start of `bytes`); a mismatch is the reader's error. */
  private confirm(check: Check, bytes: Uint8Array, exact = false): void {
    const n = check.expected.length;
    if (bytes.length < n || (exact && bytes.length !== n)) throw new DiffaiError(this.path, `short read at byte ${check.position}`);
    for (let i = 0; i < n; i++) {
      if ((check.mask >>> i) & 1 && bytes[i] !== check.expected[i]) throw new DiffaiError(this.path, check.mismatch);
    }
    check.verified = true;
  }

  readRanges(ranges: Array<[start: number, end: number]>): Uint8Array[] {
    for (const [start, end] of ranges) this.checkBounds(start, end - start);
    const out = new Array<Uint8Array>(ranges.length);
    const order = Array.from(ranges.keys()).sort((x, y) => ranges[x]![0] - ranges[y]![0]);
    const merged = coalesceRanges(ranges, { maxGap: RANGES_GAP, maxLength: RANGES_MAX_REQUEST });
    let next = 0; // the next range of `order` to cut out
    for (let first = 0; first < merged.length; ) {
      let last = first;
      let bytes = merged[first]![1] - merged[first]![0];
      while (last + 1 < merged.length && bytes + merged[last + 1]![1] - merged[last + 1]![0] <= RANGES_BATCH_BYTES)
        bytes += merged[++last]![1] - merged[last]![0];
      const batch = merged.slice(first, last + 1);
      const parts = this.state.whole ? batch.map(([s, e]) => this.state.whole!.subarray(s, e)) : fetchRangesSync(this.state, batch);
      batch.forEach(([from, to], i) => {
        for (; next < order.length && ranges[order[next]!]![0] < to; next++) {
          const [s, e] = ranges[order[next]!]!;
          if (s < from || e > to) throw new DiffaiError(this.path, `short read at byte ${s}`);
          out[order[next]!] = parts[i]!.slice(s - from, e - from);
        }
      });
      first = last + 1;
    }
    return out;
  }

  private cached(position: number, length: number): boolean {
    for (let b = Math.floor(position / BLOCK); b <= Math.floor((position + length - 1) / BLOCK); b++) if (!getBlock(this.path, b)) return false;
    return true;
  }

  /** The idle stream whose next byte is at `position`, or a new one from there; marked busy. */
  private async streamAt(position: number, length: number): Promise<Stream> {
    // A stream a little behind (the gap between two tensors: a zip entry's local header) skips ahead.
    const found = this.streams.find((s) => !s.busy && s.body.position <= position && position - s.body.position <= STREAM_SKIP && position < s.body.end);
    if (found) {
      found.busy = true;
      try {
        await found.body.skip(position - found.body.position);
      } catch (e) {
        found.busy = false;
        this.drop(found);
        throw e;
      }
      return found;
    }
    const end = Math.min(this.size, position + Math.max(length, STREAM_WINDOW));
    const body = await openRange(this.state, position, end);
    if (!body) throw new DiffaiError(this.path, 'the server stopped honouring Range requests');
    const stream = { body, busy: true };
    this.streams.push(stream);
    const idle = this.streams.filter((s) => !s.busy && s !== stream);
    if (this.streams.length > MAX_STREAMS && idle.length > 0) this.drop(idle[0]!);
    return stream;
  }

  private drop(stream: Stream): void {
    stream.body.close();
    this.streams = this.streams.filter((s) => s !== stream);
  }

  stream(start: number, end: number): Readable {
    this.checkBounds(start, end - start);
    let at = start;
    const file = this;
    return streams().Readable.from(
      (async function* () {
        while (at < end) {
          const piece = new Uint8Array(Math.min(1 << 20, end - at));
          await file.readAt(piece, at);
          at += piece.length;
          yield Buffer.from(piece.buffer, piece.byteOffset, piece.length);
        }
      })(),
    );
  }

  close(): void {
    for (const s of this.streams) s.body.close();
    this.streams = [];
  }
}
