/**
 * Temporary spool files for inputs that cannot be read by position: a model on standard
 * input (`-`) and gzip-compressed models. The bytes are copied (and gunzipped) into a file
 * in a private temporary directory, with a size cap, and the directory is removed when the
 * caller releases it, when the process exits, and on SIGINT/SIGTERM/SIGHUP (then the signal
 * is re-raised so the process still dies of it).
 */
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { DiffaiError } from '../errors.js';
import { inflateBudgetProblem } from './inflate.js';

/** Default cap on one spooled file: generous for real checkpoints, finite for a bomb. */
export const DEFAULT_SPOOL_MAX_BYTES = 64 * 1024 ** 3;
/** Environment variable that overrides the cap (bytes). */
export const SPOOL_LIMIT_ENV = 'DIFFAI_SPOOL_MAX_BYTES';

/** The cap in force: DIFFAI_SPOOL_MAX_BYTES when set to a positive integer, else the default. */
export function spoolLimit(): number {
  const raw = process.env[SPOOL_LIMIT_ENV];
  if (raw === undefined || raw === '') return DEFAULT_SPOOL_MAX_BYTES;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new DiffaiError(undefined, `${SPOOL_LIMIT_ENV} must be a positive whole number of bytes, got ${JSON.stringify(raw)}`);
  return n;
}

/** Bytes of a spooled stream's start handed to its HeadCheck. */
export const HEAD_BYTES = 64;
/** Judges the first HEAD_BYTES bytes (fewer for a shorter stream): undefined to go on, or the problem. */
export type HeadCheck = (head: Buffer) => string | undefined;

const live = new Set<string>();
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function removeAll(): void {
  for (const dir of live) rmSync(dir, { recursive: true, force: true });
  live.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  removeAll();
  unhook();
  process.kill(process.pid, signal);
}

function hook(): void {
  if (live.size > 0) return;
  process.on('exit', removeAll);
  for (const s of SIGNALS) process.on(s, onSignal);
}

function unhook(): void {
  process.off('exit', removeAll);
  for (const s of SIGNALS) process.off(s, onSignal);
}

/** A private temporary directory for spooled inputs; `release()` removes it (idempotent). */
export class Spool {
  private readonly dir: string;
  private count = 0;

  constructor() {
    hook();
    this.dir = mkdtempSync(join(tmpdir(), 'diffai-'));
    live.add(this.dir);
  }

  /** The directory (for tests and messages). */
  get path(): string {
    return this.dir;
  }

  /**
   * Copies `source` into a new spool file, gunzipping it when `gunzip` is set, and returns
   * the file's path. `label` names the input in messages (`-`, `model.safetensors.gz`).
   */
  async add(source: Readable, label: string, gunzip: boolean, accept?: HeadCheck): Promise<string> {
    const target = join(this.dir, `input-${this.count++}`);
    const limit = spoolLimit();
    const room = freeBytes(this.dir);
    let written = 0;
    /** Compressed bytes handed to gunzip so far: a gzip bomb is refused by ratio as it inflates (inflate.ts). */
    let compressed = 0;
    const count = new Transform({
      transform(chunk: Buffer, _enc, done) {
        compressed += chunk.length;
        done(null, chunk);
      },
    });
    let head: Buffer | undefined = accept ? Buffer.alloc(0) : undefined;
    /** The first HEAD_BYTES are judged as soon as they arrive, so an endless stream of no model (`< /dev/zero`) is refused at once, not spooled. */
    const judge = (): Error | undefined => {
      const problem = accept!(head!);
      head = undefined;
      return problem === undefined ? undefined : new DiffaiError(label, problem);
    };
    const cap = new Transform({
      transform(chunk: Buffer, _enc, done) {
        if (head !== undefined && head.length < HEAD_BYTES) {
          head = Buffer.concat([head, chunk.subarray(0, HEAD_BYTES - head.length)]);
          if (head.length === HEAD_BYTES) {
            const problem = judge();
            if (problem) return done(problem);
          }
        }
        written += chunk.length;
        const bomb = gunzip ? inflateBudgetProblem(written, compressed) : undefined;
        if (bomb) return done(new DiffaiError(label, `gzip data inflates to ${bomb}`));
        if (written > limit) {
          done(
            new DiffaiError(
              label,
              `${gunzip ? 'decompresses' : 'is'} larger than the ${limit}-byte spool limit (set ${SPOOL_LIMIT_ENV} to allow more, or ${gunzip ? 'decompress it to a file first' : 'save it to a file first'})`,
            ),
          );
        } else done(null, chunk);
      },
      flush(done) {
        done(head !== undefined && head.length > 0 ? judge() : undefined);
      },
    });
    const out = createWriteStream(target, { mode: 0o600 });
    try {
      await (gunzip ? pipeline(source, count, createGunzip({ chunkSize: 1 << 20 }), cap, out) : pipeline(source, cap, out));
    } catch (e) {
      if (e instanceof DiffaiError) throw e;
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'ENOSPC')
        throw new DiffaiError(label, `no space left in ${this.dir} to spool it (${room} bytes were free; set TMPDIR to a larger disk)`);
      if (gunzip && typeof err.code === 'string' && err.code.startsWith('Z_')) throw new DiffaiError(label, `gzip data is corrupt (${err.message})`);
      throw new DiffaiError(label, `reading it failed: ${err.message}`);
    }
    return target;
  }

  /** Spools a gzip file, decompressed; `label` names it in messages. */
  addGunzipped(path: string, label: string, accept?: HeadCheck): Promise<string> {
    return this.add(createReadStream(path), label, true, accept);
  }

  /** A fresh file name in the spool directory (the caller writes it; `release()` removes it). */
  reserve(label: string): string {
    return join(this.dir, `${label}-${this.count++}`);
  }

  /** Removes one spool file early (e.g. a compressed copy once it is decompressed). */
  remove(file: string): void {
    if (file.startsWith(this.dir)) rmSync(file, { force: true });
  }

  release(): void {
    rmSync(this.dir, { recursive: true, force: true });
    if (live.delete(this.dir) && live.size === 0) unhook();
  }
}

function freeBytes(dir: string): number {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return Number.NaN;
  }
}
