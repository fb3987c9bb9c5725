/**
 * Directory diffs: the model files under two directories, paired by relative path. A
 * directory holding a shard index counts as one model (its shards are not paired alone).
 * Other files are listed by extension; anything else (configs, tokenizers) is ignored.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { findShardIndex } from '../formats/sharded/index.js';

export const MODEL_EXTENSIONS = /\.(safetensors|pt|pth|bin|ckpt|npy|npz|mat|h5|hdf5|onnx|gguf)$/i;
const MAX_DEPTH = 32;
const MAX_INDEX_BYTES = 64 * 1024 * 1024;

/** A model under a root: its path relative to the root (`/`-separated) and the path to describe. */
export interface ModelUnit {
  relative: string;
  path: string;
}

export function listModels(root: string): ModelUnit[] {
  const units: ModelUnit[] = [];
  walk(root, root, 0, units);
  return units.sort((a, b) => (a.relative < b.relative ? -1 : a.relative > b.relative ? 1 : 0));
}

function walk(root: string, dir: string, depth: number, units: ModelUnit[]): void {
  if (depth > MAX_DEPTH) return;
  const index = findShardIndex(dir);
  const shards = index ? shardNames(index) : new Set<string>();
  if (index) units.push({ relative: toRelative(root, index), path: index });
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(root, path, depth + 1, units);
    else if (entry.isFile() && MODEL_EXTENSIONS.test(entry.name) && !shards.has(entry.name) && !isLaterGgufSplit(entry.name)) {
      units.push({ relative: toRelative(root, path), path });
    }
  }
}

/** GGUF splits after the first (`model-00002-of-00003.gguf`): the first split reads them all. */
function isLaterGgufSplit(name: string): boolean {
  const m = /-(\d{5})-of-\d{5}\.gguf$/i.exec(name);
  return m !== null && Number(m[1]) > 1;
}

/** Shard file names an index refers to (so they are not listed as models of their own). */
function shardNames(indexPath: string): Set<string> {
  try {
    if (statSync(indexPath).size > MAX_INDEX_BYTES) return new Set();
    const index = JSON.parse(readFileSync(indexPath, 'utf8')) as { weight_map?: Record<string, unknown> };
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
  return pairs.sort((x, y) => (x.relative < y.relative ? -1 : x.relative > y.relative ? 1 : 0));
}
