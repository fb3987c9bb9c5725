/**
 * One inflating pass for a compressed stream that several tensors share (the fields of a
 * compressed MATLAB struct or cell, views of one deflated zip storage). Each tensor read
 * straight from such a stream would inflate it from its start up to its own bytes: n fields
 * cost O(n²) inflating (a 300 MB struct of 60 fields took 56 s). Instead the stream is
 * inflated once into a spool file and the tensors read it by position. The spool lives while
 * a call holds it (formats/input.ts) and is removed at exit.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { DiffaiError } from '../errors.js';
import type { ByteSource } from '../formats/types.js';
import { RandomAccessFile } from './file.js';
import { InflateStream } from './inflate.js';
import type { Spool } from './spool.js';

type DeflateSource = Extract<ByteSource, { kind: 'deflate' }>;

let spool: Promise<Spool> | undefined;
let holders = 0;

/** A call that may describe models holds the shared-stream spool until it ends; returns the release. */
export function holdSharedStreams(): () => void {
  holders++;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--holders > 0 || !spool) return;
    const s = spool;
    spool = undefined;
    void s.then((x) => x.release());
  };
}

const spoolOf = (): Promise<Spool> => (spool ??= import('./spool.js').then((m) => new m.Spool()));

const PIECE = 1 << 20;

/**
 * Inflates the first `bytes` bytes of `source`'s stream (its `skip` and `length` ignored)
 * into a new spool file and returns the file's path.
 */
export async function inflateToSpool(source: DeflateSource, bytes: number): Promise<string> {
  const target = (await spoolOf()).reserve('inflated');
  const file = RandomAccessFile.open(source.path);
  const stream = new InflateStream(file, { ...source, skip: 0, length: bytes });
  const fd = openSync(target, 'w', 0o600);
  try {
    const piece = Buffer.allocUnsafe(Math.min(PIECE, Math.max(1, bytes)));
    for (let done = 0; done < bytes; ) {
      const n = Math.min(piece.length, bytes - done);
      await stream.readInto(piece.subarray(0, n));
      try {
        writeSync(fd, piece, 0, n, done);
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        throw new DiffaiError(source.path, `cannot keep the inflated data in ${target} (${err.code ?? err.message}; set TMPDIR to a larger disk)`);
      }
      done += n;
    }
  } finally {
    closeSync(fd);
    stream.close();
    file.close();
  }
  return target;
}
