/**
 * Sharded Hugging Face checkpoints: `model.safetensors.index.json` or
 * `pytorch_model.bin.index.json` (`{"metadata": {"total_size": …}, "weight_map": {name: shard}}`)
 * next to the shard files. The shards are described one by one (by the caller's reader) and
 * joined into one model by tensor name, so two checkpoints whose shard boundaries differ
 * still pair tensor by tensor. The index is checked against the shard headers; every
 * inconsistency is a warning, a missing shard or a shard path leaving the directory an error.
 */
import { basename, dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { byteLength } from '../../dtypes.js';
import { DiffaiError } from '../../errors.js';
import { realpathSync } from 'node:fs';
import { describeFsError, listDirectory, RandomAccessFile, statPath } from '../../io/file.js';
import { parseJson } from '../../io/json.js';
import { isRemotePath, remoteSibling } from '../../io/remote-path.js';
import { readRange } from '../../io/range.js';
import type { LeafValue, ModelDescription, TensorDescriptor } from '../types.js';
import { warningList } from '../warnings.js';

/** Index file names, in order of preference when a directory holds several. */
export const SHARD_INDEX_NAMES = ['model.safetensors.index.json', 'pytorch_model.bin.index.json'] as const;
const INDEX_PATTERN = /\.(safetensors|bin)\.index\.json$/;
/** Index files are metadata; larger ones are refused. */
const MAX_INDEX_BYTES = 64 * 1024 * 1024;
/**
 * Most shard files one index may name. Real indexes name a few hundred at most (Llama 3.1
 * 405B: 191); each shard is opened, described and held open while the diff reads it (and
 * remote ones cost a request each), so an index naming 10^5 files is refused before any is.
 */
export const MAX_SHARDS = 4096;

/** True for an index file name (`*.safetensors.index.json`, `*.bin.index.json`). */
export function isShardIndexName(path: string): boolean {
  return INDEX_PATTERN.test(basename(path));
}

/** The shard index inside `dir` (the preferred one when there are several), or undefined. */
export function findShardIndex(dir: string): string | undefined {
  return findShardIndexes(dir)[0];
}

function findShardIndexes(dir: string): string[] {
  const names = listDirectory(dir).map((e) => e.name);
  const found = names
    .filter((n) => INDEX_PATTERN.test(n))
    .sort((a, b) => {
      const ra = SHARD_INDEX_NAMES.indexOf(a as (typeof SHARD_INDEX_NAMES)[number]);
      const rb = SHARD_INDEX_NAMES.indexOf(b as (typeof SHARD_INDEX_NAMES)[number]);
      return (ra < 0 ? 99 : ra) - (rb < 0 ? 99 : rb) || (a < b ? -1 : a > b ? 1 : 0);
    });
  return found.filter((n) => statPath(join(dir, n))?.isFile()).map((n) => join(dir, n));
}

/** True when `path` is a shard index file, or a directory holding one (a sharded model). */
export function isShardIndex(path: string): boolean {
  const st = statPath(path);
  if (!st) return false;
  if (st.isDirectory()) return findShardIndex(path) !== undefined;
  return st.isFile() && isShardIndexName(path);
}

/** The canonical path (symlinks resolved); failures are a DiffaiError for `file`. */
function realPath(path: string, file: string): string {
  try {
    return realpathSync(path);
  } catch (e) {
    throw new DiffaiError(file, `${path === file ? '' : `${path}: `}${describeFsError(e)}`);
  }
}

/** The checked local path of each shard: a regular file inside the index's directory (through symbolic links too), not the index. */
function localShardPaths(indexPath: string): (shard: string) => string {
  const dir = dirname(indexPath);
  const realDir = realPath(dir, dir);
  return (shard) => {
    const shardPath = join(dir, shard);
    const sst = statPath(shardPath);
    if (!sst?.isFile()) {
      throw new DiffaiError(indexPath, sst ? `shard '${shard}' listed in the index is not a regular file` : `shard '${shard}' listed in the index is missing`);
    }
    const real = realPath(shardPath, indexPath);
    if (!real.startsWith(realDir.endsWith(sep) ? realDir : realDir + sep)) {
      throw new DiffaiError(indexPath, `shard '${shard}' resolves outside the index's directory (through a symbolic link); refused`);
    }
    if (real === realPath(indexPath, indexPath)) throw new DiffaiError(indexPath, `shard '${shard}' is the index itself`);
    return shardPath;
  };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Converts index metadata to leaves (JSON values pass through). */
function toLeaf(v: unknown): LeafValue {
  if (v === null || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(toLeaf);
  if (isPlainObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toLeaf(x)]));
  return String(v);
}

/**
 * Describes a sharded checkpoint as one model. `indexPathOrDir` is an index file or a
 * directory holding one; `describeFile` describes one shard (any format the registry reads).
 */
export async function describeSharded(indexPathOrDir: string, describeFile: (path: string) => Promise<ModelDescription>): Promise<ModelDescription> {
  const warnings: string[] = warningList();
  let indexPath = indexPathOrDir;
  // A remote index (a URL or hf:// path) names its shards beside it on the same server.
  const remote = isRemotePath(indexPathOrDir);
  const st = remote ? undefined : statPath(indexPathOrDir);
  if (!st && !remote) throw new DiffaiError(indexPathOrDir, 'no such file');
  if (st?.isDirectory()) {
    const found = findShardIndexes(indexPathOrDir);
    if (found.length === 0) {
      throw new DiffaiError(indexPathOrDir, `no shard index (${SHARD_INDEX_NAMES.join(' or ')}) in this directory`);
    }
    indexPath = found[0]!;
    if (found.length > 1) {
      warnings.push(`directory holds several shard indexes (${found.map((f) => basename(f)).join(', ')}); using ${basename(indexPath)}`);
    }
  }

  // Read and validate the index.
  const file = RandomAccessFile.open(indexPath);
  let text: string;
  try {
    text = readRange(file, 0, file.size, { what: 'shard index', budget: MAX_INDEX_BYTES }).toString('utf8');
  } finally {
    file.close();
  }
  const index = parseJson(text, indexPath, 'shard index is not valid JSON');
  if (!isPlainObject(index) || !isPlainObject(index.weight_map)) {
    throw new DiffaiError(indexPath, 'shard index has no "weight_map" object');
  }
  const weightMap = new Map<string, string>();
  for (const [name, shard] of Object.entries(index.weight_map)) {
    if (typeof shard !== 'string' || shard === '') {
      throw new DiffaiError(indexPath, `weight_map entry '${name}' is not a shard file name`);
    }
    const norm = normalize(shard);
    if (isAbsolute(shard) || norm.split(sep).includes('..') || shard.includes('\\') || shard.includes('\0')) {
      throw new DiffaiError(indexPath, `weight_map entry '${name}' points outside the index's directory: '${shard}'`);
    }
    weightMap.set(name, shard);
  }
  if (weightMap.size === 0) warnings.push('shard index lists no tensors');

  // Describe every shard once.
  const shards = [...new Set(weightMap.values())].sort();
  if (shards.length > MAX_SHARDS) {
    throw new DiffaiError(
      indexPath,
      `shard index names ${shards.length} shard files, more than the ${MAX_SHARDS} a checkpoint has (real ones have at most a few hundred); refused`,
    );
  }
  const occurrences = new Map<string, Array<{ shard: string; tensor: TensorDescriptor }>>();
  const leaves: Record<string, LeafValue> = Object.create(null);
  const metadata = isPlainObject(index.metadata) ? index.metadata : undefined;
  if (metadata) {
    for (const [k, v] of Object.entries(metadata)) if (k !== 'total_size') leaves[`metadata.${k}`] = toLeaf(v);
  }
  const shardPathOf = remote ? (shard: string) => remoteSibling(indexPath, shard) : localShardPaths(indexPath);
  for (const shard of shards) {
    const d = await describeFile(shardPathOf(shard));
    for (const w of d.warnings) warnings.push(`${shard}: ${w}`);
    for (const [k, v] of Object.entries(d.leaves)) {
      if (!(k in leaves)) leaves[k] = v;
      else if (JSON.stringify(leaves[k]) !== JSON.stringify(v)) {
        warnings.push(`${shard}: leaf '${k}' = ${JSON.stringify(v)} differs from another shard's ${JSON.stringify(leaves[k])}; keeping the first`);
      }
    }
    for (const t of d.tensors) {
      let list = occurrences.get(t.name);
      if (!list) occurrences.set(t.name, (list = []));
      list.push({ shard, tensor: t });
    }
  }

  // Join by name, checking the index against what the shards hold.
  const tensors: TensorDescriptor[] = [];
  for (const [name, list] of occurrences) {
    const mapped = weightMap.get(name);
    const where = list.map((o) => o.shard);
    let chosen = list.find((o) => o.shard === mapped);
    if (mapped === undefined) {
      warnings.push(`tensor '${name}' is in shard ${where.join(', ')} but not in the index`);
    } else if (!chosen) {
      warnings.push(`index maps tensor '${name}' to ${mapped} but it is in ${where.join(', ')}`);
    }
    if (list.length > 1) {
      chosen ??= list[0]!;
      warnings.push(`tensor '${name}' is in ${list.length} shards (${where.join(', ')}); using the one in ${chosen.shard}`);
    }
    chosen ??= list[0]!;
    tensors.push({ ...chosen.tensor, notes: [...(chosen.tensor.notes ?? []), `shard: ${chosen.shard}`] });
  }
  for (const [name, shard] of weightMap) {
    if (!occurrences.has(name)) warnings.push(`index lists tensor '${name}' in ${shard} but no shard holds it`);
  }

  // total_size is the sum of the tensors' byte sizes as the writers compute it.
  const total = metadata?.total_size;
  if (typeof total === 'number') {
    const sum = tensors.reduce((a, t) => a + byteLength(t.dtype, t.numel), 0);
    if (sum !== total) warnings.push(`index metadata total_size is ${total} bytes but the shards' tensors hold ${sum}`);
  }

  return { path: indexPathOrDir, format: 'sharded', tensors, leaves, warnings };
}
