/**
 * Directory diffs: the model files under two directories, paired by relative path. A
 * directory holding a shard index counts as one model (its shards are not paired alone).
 * Other files are listed by extension; anything else (configs, tokenizers) is ignored.
 */
import { readFileSync, realpathSync, type Stats, statSync } from 'node:fs';
import { describeFsError, listDirectory, notRegular } from '../io/file.js';
import { parseJson } from '../io/json.js';
import { join, relative, sep } from 'node:path';
import { DiffaiError } from '../errors.js';
import { findShardIndex } from '../formats/sharded/index.js';
import { compareNames } from '../names.js';

export const MODEL_EXTENSIONS = /\.(safetensors|pt|pth|bin|ckpt|npy|npz|mat|h5|hdf5|onnx|gguf)$/i;
/**
 * Directory entries looked at under one root, at most: far beyond a model repository or a
 * Hugging Face cache, finite for a tree that is not a model directory (a home directory).
 */
export const MAX_DIRECTORY_ENTRIES = 1_000_000;
const MAX_INDEX_BYTES = 64 * 1024 * 1024;

/** A model under a root: its path relative to the root (`/`-separated) and the path to describe. */
export interface ModelUnit {
  relative: string;
  path: string;
}

/** The models under a root, and what was skipped (broken links, link loops). */
export interface ModelListing {
  units: ModelUnit[];
  warnings: string[];
}

/**
 * Lists the model files under `root`, at any depth. Symbolic links are followed (a Hugging
 * Face cache snapshot links every file into `blobs/`) and named by the link; a link to a
 * directory that is already being walked (a loop) and a broken link are skipped with a warning.
 */
export function listModels(root: string, maxEntries = MAX_DIRECTORY_ENTRIES): ModelListing {
  const walker = { root, units: [] as ModelUnit[], warnings: [] as string[], entries: 0, maxEntries };
  const real = realpathSync.native(root);
  walk(walker, root, real, new Set([real]));
  walker.units.sort((a, b) => (a.relative < b.relative ? -1 : a.relative > b.relative ? 1 : 0));
  return { units: walker.units, warnings: walker.warnings };
}

interface Walker {
  root: string;
  units: ModelUnit[];
  warnings: string[];
  entries: number;
  maxEntries: number;
}

/** What a symbolic link leads to: undefined when broken, 'loop' when it leads round to itself (ELOOP); other failures name the link. */
function linkTarget(path: string): Stats | 'loop' | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch (e) {
    if ((e as NodeJS.ErrnoException)?.code === 'ELOOP') return 'loop';
    throw new DiffaiError(path, describeFsError(e));
  }
}

/**
 * `realDir`: `dir` with its links resolved; `ancestors`: real paths of the directories from
 * the root down to `dir` (a link to one of them is a loop), one set added to and taken from
 * on the way down and up. A plain subdirectory's real path is its parent's and its name;
 * only links are resolved, by one realpath(3) call: resolving every directory component by
 * component cost O(depth²) each, and a 1,900-deep tree did not finish in a minute.
 */
function walk(w: Walker, dir: string, realDir: string, ancestors: Set<string>): void {
  const index = findShardIndex(dir);
  const shards = index ? shardNames(index) : new Set<string>();
  if (index) w.units.push({ relative: toRelative(w.root, index), path: index });
  for (const entry of listDirectory(dir).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (++w.entries > w.maxEntries) {
      throw new DiffaiError(w.root, `holds more than ${w.maxEntries} files and directories; give the directory of one model (or of its checkpoints)`);
    }
    const path = join(dir, entry.name);
    let isDir = entry.isDirectory();
    let isFile = entry.isFile();
    if (entry.isSymbolicLink()) {
      const target = linkTarget(path);
      if (target === 'loop') {
        w.warnings.push(`${path}: symbolic link loop skipped`);
        continue;
      }
      if (!target) {
        w.warnings.push(`${path}: broken symbolic link skipped`);
        continue;
      }
      isDir = target.isDirectory();
      isFile = target.isFile();
    }
    if (isDir) {
      const real = entry.isSymbolicLink() ? realpathOf(path) : join(realDir, entry.name);
      if (ancestors.has(real)) {
        w.warnings.push(`${path}: symbolic link loop skipped (it leads back to ${real})`);
        continue;
      }
      ancestors.add(real);
      try {
        walk(w, path, real, ancestors);
      } finally {
        ancestors.delete(real);
      }
    } else if (isFile && MODEL_EXTENSIONS.test(entry.name) && !shards.has(entry.name) && !isLaterGgufSplit(entry.name)) {
      w.units.push({ relative: toRelative(w.root, path), path });
    } else if (!isFile && MODEL_EXTENSIONS.test(entry.name)) {
      // A FIFO or device named like a model would block or never end: said, not read.
      const st = linkTarget(path);
      if (st && st !== 'loop') w.warnings.push(`${path}: ${notRegular(st)}; skipped`);
    }
  }
}

/** GGUF splits after the first (`model-00002-of-00003.gguf`): the first split reads them all. */
function isLaterGgufSplit(name: string): boolean {
  const m = /-(\d{5})-of-\d{5}\.gguf$/i.exec(name);
  return m !== null && Number(m[1]) > 1;
}

function realpathOf(path: string): string {
  try {
    return realpathSync.native(path);
  } catch (e) {
    throw new DiffaiError(path, describeFsError(e));
  }
}

/** Shard file names an index refers to (so they are not listed as models of their own). */
function shardNames(indexPath: string): Set<string> {
  try {
    if (statSync(indexPath).size > MAX_INDEX_BYTES) return new Set();
    const index = parseJson(readFileSync(indexPath, 'utf8'), indexPath, 'shard index') as { weight_map?: Record<string, unknown> };
    return new Set(Object.values(index.weight_map ?? {}).filter((v): v is string => typeof v === 'string'));
  } catch {
    return new Set(); // the index itself is reported when it is described
  }
}

function toRelative(root: string, path: string): string {
  return relative(root, path).split(sep).join('/');
}

export type FilePairing =
  | { kind: 'both'; relative: string; a: string; b: string }
  | { kind: 'onlyA'; relative: string; a: string }
  | { kind: 'onlyB'; relative: string; b: string };

export function pairModels(a: ModelUnit[], b: ModelUnit[]): FilePairing[] {
  const inB = new Map(b.map((u) => [u.relative, u]));
  const pairs: FilePairing[] = [];
  for (const u of a) {
    const other = inB.get(u.relative);
    pairs.push(other ? { kind: 'both', relative: u.relative, a: u.path, b: other.path } : { kind: 'onlyA', relative: u.relative, a: u.path });
  }
  const inA = new Set(a.map((u) => u.relative));
  for (const u of b) if (!inA.has(u.relative)) pairs.push({ kind: 'onlyB', relative: u.relative, b: u.path });
  return pairs.sort((x, y) => compareNames(x.relative, y.relative));
}
