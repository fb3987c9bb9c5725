/**
 * Format detection: every reader sniffs the first bytes of a file; the extension is only a
 * tie-breaker for messages. New formats register here.
 */
import { DiffaiError } from '../errors.js';
import { notRegular, RandomAccessFile, statPath } from '../io/file.js';
import { RemoteError } from '../io/http-range.js';
import { hubPathOf, isRemotePath, parseHubPath } from '../io/remote-path.js';
import type { FormatName, FormatReader, ModelDescription } from './types.js';
import { ggufReader } from './gguf/reader.js';
import { matlabReader } from './matlab/reader.js';
import { npzReader, numpyReader } from './numpy/reader.js';
import { hdf5Reader } from './hdf5/reader.js';
import { onnxReader } from './onnx/reader.js';
import { tensorflowReader } from './tensorflow/reader.js';
import { pytorchReader } from './pytorch/reader.js';
import { safetensorsReader } from './safetensors/reader.js';
import { describeSharded, findShardIndex, isShardIndexName, SHARD_INDEX_NAMES } from './sharded/index.js';
import { looksLikeZip } from './zip/zip.js';
import { capWarnings } from './warnings.js';
import { MAX_DESCRIBED_ENTRIES, tooManyEntries } from './tensor-list.js';
import { settleCompressedWork } from './inflate-budget.js';

/**
 * Readers in sniffing order: PyTorch claims zips holding data.pkl, npz zips of .npy entries;
 * protocol buffers have no magic, so TensorFlow claims `.pb` files before ONNX looks.
 */
export const READERS: FormatReader[] = [
  safetensorsReader,
  pytorchReader,
  npzReader,
  numpyReader,
  matlabReader,
  ggufReader,
  hdf5Reader,
  tensorflowReader,
  onnxReader,
];

/** Bytes of the file head handed to `sniff`. */
export const SNIFF_BYTES = 64;

export function readHead(path: string): Uint8Array {
  const file = RandomAccessFile.open(path);
  try {
    return file.readUpTo(0, SNIFF_BYTES);
  } finally {
    file.close();
  }
}

/** Formats `--format` can force: every reader's name (`numpy` takes .npy and .npz alike). */
export type ForcedFormat = Exclude<FormatName, 'sharded'>;
export const FORCED_FORMATS: ForcedFormat[] = [...new Set(READERS.map((r) => r.name as ForcedFormat))];

export interface DescribeOptions {
  /** Read the file with this reader only; bytes of another format are an error. */
  format?: ForcedFormat;
}

/**
 * The reader for the file at `path`. `named`: the user named this file (messages may then
 * quote its first bytes); a shard found through an index is not, and its bytes are not shown.
 */
export function detectFormat(path: string, options: DescribeOptions = {}, named = true): FormatReader {
  const head = readHead(path);
  if (head.length === 0) throw new DiffaiError(path, 'empty file');
  const reader = READERS.find((r) => r.sniff(head, path));
  if (options.format !== undefined) {
    const allowed = options.format === 'numpy' ? ['numpy', 'npz'] : [options.format];
    const forced = READERS.find((r) => allowed.includes(r.name) && r.sniff(head, path));
    if (forced) return forced;
    const seen = reader ? `a ${reader.name} file` : looksLikeZip(head) ? 'a zip archive of neither kind' : `no supported format (${describeMagic(head)})`;
    throw new DiffaiError(
      path,
      `--format ${options.format}: the bytes are not ${options.format === 'numpy' ? 'a NumPy .npy/.npz file' : `a ${options.format} file`}; they are ${seen}`,
    );
  }
  if (reader) return reader;
  if (looksLikeZip(head)) throw new DiffaiError(path, 'a zip archive that is neither a PyTorch checkpoint (no data.pkl) nor a NumPy .npz (no .npy entries)');
  const expected = EXPECTED_BY_EXTENSION.find(([re]) => re.test(path))?.[1];
  const magic = named ? ` (${describeMagic(head)})` : '';
  throw new DiffaiError(path, expected ? `not a valid ${expected}${magic}` : `unrecognised file format${magic}`);
}

/** What a file's extension promises, for a clearer message when its bytes say otherwise. */
const EXPECTED_BY_EXTENSION: Array<[RegExp, string]> = [
  [/\.(pt|pth|bin|ckpt)$/i, 'PyTorch checkpoint: neither a zip archive with data.pkl nor a legacy pickle'],
  [/\.safetensors$/i, 'safetensors file: no 8-byte header length followed by a JSON header'],
  [/\.npy$/i, 'NumPy .npy file: no \\x93NUMPY magic'],
  [/\.npz$/i, 'NumPy .npz file: not a zip archive'],
  [/\.mat$/i, 'MATLAB .mat file: no MAT-file header'],
  [/\.(h5|hdf5)$/i, 'HDF5 file: no HDF5 signature'],
  [/\.onnx$/i, 'ONNX model: not a protocol-buffers ModelProto'],
  [/\.pb$/i, 'TensorFlow graph: neither a GraphDef nor a SavedModel protocol buffer'],
  [/\.gguf$/i, 'GGUF file: no GGUF magic'],
];

/**
 * Describes a model: a file of any supported format, a sharded checkpoint's index.json, or
 * a directory holding one (the shards joined into one model).
 */
export async function describeModel(path: string, options: DescribeOptions = {}): Promise<ModelDescription> {
  if (isRemotePath(path)) return describeRemote(path, options);
  const st = statPath(path);
  if (!st) throw new DiffaiError(path, 'no such file');
  if (!st.isFile() && !st.isDirectory()) throw new DiffaiError(path, notRegular(st)); // a FIFO would block the first read
  const shard = (p: string) => describeShard(p, options);
  if (st.isDirectory()) {
    if (findShardIndex(path) === undefined)
      throw new DiffaiError(path, 'is a directory without a shard index (to compare two directories, give two directories)');
    return bounded(await describeIndex(path, shard));
  }
  if (isShardIndexName(path)) return bounded(await describeIndex(path, shard));
  return bounded(await describeFile(detectFormat(path, options), path));
}

/** A sharded checkpoint (its index, or a directory holding one), behind the reader boundary. */
async function describeIndex(path: string, shard: (p: string) => Promise<ModelDescription>): Promise<ModelDescription> {
  try {
    return await describeSharded(path, shard);
  } catch (e) {
    throw readerFailure(e, path, 'shard index');
  }
}

/** One file by its reader, its compressed work checked and shared streams inflated once (inflate-budget.ts). */
async function describeFile(reader: FormatReader, path: string): Promise<ModelDescription> {
  try {
    return settleCompressedWork(await reader.describe(path));
  } catch (e) {
    throw readerFailure(e, path, reader.name);
  }
}

/**
 * The reader boundary: whatever a reader throws leaves it as a DiffaiError naming the file.
 * Readers bound nesting, counts and sizes themselves; this is the net under them, so that a
 * case they missed (a stack overflow, an allocation V8 refuses) is still one line that says
 * which file, never `internal error` without it.
 */
export function readerFailure(e: unknown, path: string, reader: string): unknown {
  if (e instanceof DiffaiError || (e as Error)?.name === 'AbortError') return e;
  const message = String((e as Error)?.message ?? e);
  if (/call stack/i.test(message)) return new DiffaiError(path, `nested too deeply for the ${reader} reader (${message})`);
  if (/invalid (string|array) length|allocation failed|out of memory|too large/i.test(message))
    return new DiffaiError(path, `too large for the ${reader} reader (${message})`);
  return new DiffaiError(path, `the ${reader} reader failed: ${message}`);
}

/** A description with its warnings capped and its entries counted (readers keep bounded lists; this catches lists joined afterwards). */
function bounded(d: ModelDescription): ModelDescription {
  if (Object.keys(d.leaves).length > MAX_DESCRIBED_ENTRIES) throw tooManyEntries(d.path);
  const warnings = capWarnings(d.warnings);
  return warnings === d.warnings ? d : { ...d, warnings };
}

/**
 * A remote model: a file, a shard index (its shards beside it), or an hf:// repository root
 * (its safetensors index or single file, else the PyTorch ones). Named as given.
 */
async function describeRemote(path: string, options: DescribeOptions): Promise<ModelDescription> {
  const target = findRemoteModel(path);
  const d = isShardIndexName(target)
    ? await describeIndex(target, (p) => describeShard(p, options))
    : await describeFile(detectFormat(target, options), target);
  return target === path ? d : { ...d, path };
}

/** Files a repository root may hold a model in, in order of preference. */
const REPOSITORY_MODEL_FILES = [...SHARD_INDEX_NAMES.slice(0, 1), 'model.safetensors', ...SHARD_INDEX_NAMES.slice(1), 'pytorch_model.bin'];

/** The model file an hf:// repository root stands for (one request per candidate tried); other paths as they are. */
function findRemoteModel(path: string): string {
  if (!/^hf:\/\//i.test(path)) return path;
  const hub = parseHubPath(path);
  if (hub.file !== '') return path;
  for (const name of REPOSITORY_MODEL_FILES) {
    const candidate = hubPathOf(hub, name);
    try {
      RandomAccessFile.open(candidate).close();
      return candidate;
    } catch (e) {
      if (!(e instanceof RemoteError && e.status === 404)) throw e;
    }
  }
  throw new DiffaiError(
    path,
    `the repository holds none of ${REPOSITORY_MODEL_FILES.join(', ')} at its root; name the file (hf://org/repo/path/to/model.safetensors)`,
  );
}

/** One shard named by an index: a model file, never another index (no cycles) and never quoted. */
function describeShard(path: string, options: DescribeOptions): Promise<ModelDescription> {
  if (isShardIndexName(path)) throw new DiffaiError(path, 'a shard index cannot be a shard of another index');
  return describeFile(detectFormat(path, options, false), path);
}

export function describeMagic(head: Uint8Array): string {
  const hex = Buffer.from(head.subarray(0, 8)).toString('hex').replace(/(..)/g, '$1 ').trim();
  return `first bytes: ${hex}`;
}
