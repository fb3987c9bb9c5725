/**
 * Turns the paths a user gives into files the readers can read by position: `-` (standard
 * input) and gzip-compressed models are spooled to a temporary file
 * (io/spool.ts) for the duration of one call; xz, zstd and bzip2 are refused with the
 * command that decompresses them. Errors and descriptions name what the user gave, never
 * the spool file.
 */
import { DiffaiError, UnsafePickleError } from '../errors.js';
import { decompressHint, detectCompression } from '../io/compression.js';
import { notRegular, statPath } from '../io/file.js';
import { forgetRemoteFiles } from '../io/remote-file.js';
import { holdSharedStreams } from '../io/shared-streams.js';
import { isRemotePath, parseHubPath } from '../io/remote-path.js';
import { isShardIndexName } from './sharded/index.js';
import type { Spool } from '../io/spool.js';
import { describeMagic, READERS, readHead } from './registry.js';
import { looksLikeZip } from './zip/zip.js';

/** The path that names standard input. */
export const STDIN = '-';

export interface LocalInputs {
  /** A readable local path for each given path (the same path when no spool was needed). */
  local: string[];
  /** The given path for a local one (the local path itself when it was not spooled). */
  label(local: string): string;
}

/**
 * Runs `fn` on local paths for `paths`, and removes every spool file afterwards (also when
 * `fn` throws). A DiffaiError about a spool file is re-issued naming the given path.
 */
export async function withLocalInputs<T>(paths: string[], fn: (inputs: LocalInputs) => Promise<T>): Promise<T> {
  if (paths.filter((p) => p === STDIN).length > 1) throw new DiffaiError(undefined, 'standard input (-) can be given only once');
  let spool: Spool | undefined;
  const releaseShared = holdSharedStreams();
  const labels = new Map<string, string>();
  // Loaded only when an input needs it, to keep plain diffs quick to start.
  const spoolOf = async () => (spool ??= new (await import('../io/spool.js')).Spool());
  try {
    const local: string[] = [];
    for (const p of paths) {
      const l = await localPath(p, spoolOf);
      if (l !== p) labels.set(l, p);
      local.push(l);
    }
    return await fn({ local, label: (l) => labels.get(l) ?? l });
  } catch (e) {
    const label = e instanceof DiffaiError && e.file !== undefined ? labels.get(e.file) : undefined;
    if (label === undefined) throw e;
    throw e instanceof UnsafePickleError ? new UnsafePickleError(label, e.message, e.globals) : new DiffaiError(label, (e as DiffaiError).message);
  } finally {
    spool?.release();
    releaseShared();
    // Sizes and cached blocks of remote files last one call: a later call sees the server's current file.
    if (paths.some(isRemotePath)) forgetRemoteFiles();
  }
}

async function localPath(path: string, spoolOf: () => Promise<Spool>): Promise<string> {
  if (isRemotePath(path)) return remotePath(path);
  let local = path;
  if (path === STDIN) {
    if (process.stdin.isTTY)
      throw new DiffaiError(STDIN, 'standard input is a terminal; pipe a model into it (git show HEAD:model.safetensors | diffai - model.safetensors)');
    local = await (await spoolOf()).add(process.stdin, STDIN, false, modelOrCompressed);
  }
  const st = statPath(local);
  // A pipe by name (a FIFO, bash's `<(…)`) may have no writer and would block forever: refused
  // at once, pointing at standard input, which is read into the spool.
  if (path !== STDIN && st && !st.isFile() && !st.isDirectory())
    throw new DiffaiError(path, `${notRegular(st)}; to read a model from a pipe, give it on standard input (… | diffai - OTHER)`);
  if (!st?.isFile()) return local; // directories, missing files: the readers say what is wrong
  const head = readHead(local);
  if (READERS.some((r) => r.sniff(head, local))) return local;
  const compression = detectCompression(head);
  if (compression === undefined) return local;
  if (compression.name === 'gzip') {
    const spool = await spoolOf();
    const inflated = await spool.addGunzipped(local, path, modelHead);
    if (local !== path) spool.remove(local); // the compressed copy of a pipe is no longer needed
    return inflated;
  }
  throw new DiffaiError(path, `is ${compression.name}-compressed, which diffai does not decompress; ${decompressHint(compression, path, path === STDIN)}`);
}

/** Spooled standard input must start as a model or a compressed model does. */
function modelOrCompressed(head: Buffer): string | undefined {
  return detectCompression(head) === undefined ? modelHead(head) : undefined;
}

/** Spooled (decompressed) bytes must start as some model does; an endless stream of anything else is refused at its first bytes. */
function modelHead(head: Buffer): string | undefined {
  if (head.length === 0 || looksLikeZip(head) || READERS.some((r) => r.sniff(head, ''))) return undefined;
  return `unrecognised file format (${describeMagic(head)})`;
}

/** A remote file is read by range where it is; a compressed one would have to be downloaded whole, which diffai does not do. */
function remotePath(path: string): string {
  if ((/^hf:/i.test(path) && parseHubPath(path).file === '') || isShardIndexName(path)) return path; // a repository root or an index (JSON)
  const head = readHead(path);
  const compression = detectCompression(head);
  if (compression === undefined || READERS.some((r) => r.sniff(head, path))) return path;
  throw new DiffaiError(path, `is ${compression.name}-compressed; remote files are read by range, so download and decompress it first`);
}
