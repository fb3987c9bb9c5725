/**
 * Small files beside a model (a Hugging Face config.json, tokenizer.json): in the model's
 * directory, or beside the file; for a remote model at the same URL directory (an hf:// path
 * at the same revision). A remote sibling costs one request (the first window brings the
 * size and, for files that small, the bytes); a 404 means absent, not an error; the size is
 * checked against the caller's limit before more is fetched.
 */
import { dirname, join } from 'node:path';
import { RandomAccessFile, statPath } from './file.js';
import { RemoteError } from './http-range.js';
import { isRemotePath, remoteSibling } from './remote-path.js';
import { markRemoteAbsent, remoteAbsent } from './remote-file.js';

export type Sibling =
  /** Read: its bytes. */
  | { path: string; bytes: Buffer }
  /** Larger than the caller's limit: not read. */
  | { path: string; size: number; tooLarge: true };

/** Where `name` is beside `modelPath` (inside it, for a local model directory). */
export function siblingPath(modelPath: string, name: string): string {
  if (isRemotePath(modelPath)) return remoteSibling(modelPath, name);
  const dir = statPath(modelPath)?.isDirectory() ? modelPath : dirname(modelPath);
  return join(dir, name);
}

/**
 * The file `name` beside the model, when there is one (undefined: absent). Larger than
 * `maxBytes`: reported, not read. Trouble reading it (access denied, a server error) is a
 * DiffaiError naming the sibling's path.
 */
export function readSibling(modelPath: string, name: string, maxBytes: number): Sibling | undefined {
  const path = siblingPath(modelPath, name);
  if (!isRemotePath(path) && !statPath(path)?.isFile()) return undefined;
  if (isRemotePath(path) && remoteAbsent(path)) return undefined;
  let file: RandomAccessFile;
  try {
    file = RandomAccessFile.open(path);
  } catch (e) {
    if (e instanceof RemoteError && (e.status === 404 || e.status === 410)) {
      markRemoteAbsent(path);
      return undefined;
    }
    throw e;
  }
  try {
    if (file.size > maxBytes) return { path, size: file.size, tooLarge: true };
    return { path, bytes: file.read(0, file.size) };
  } finally {
    file.close();
  }
}
