/**
 * Format detection: every reader sniffs the first bytes of a file; the extension is only a
 * tie-breaker for messages. New formats register here.
 */
import { DiffaiError } from '../errors.js';
import { RandomAccessFile } from '../io/file.js';
import type { FormatReader, ModelDescription } from './types.js';
import { statSync } from 'node:fs';
import { ggufReader } from './gguf/reader.js';
import { matlabReader } from './matlab/reader.js';
import { npzReader, numpyReader } from './numpy/reader.js';
import { hdf5Reader } from './hdf5/reader.js';
import { onnxReader } from './onnx/reader.js';
import { tensorflowReader } from './tensorflow/reader.js';
import { pytorchReader } from './pytorch/reader.js';
import { safetensorsReader } from './safetensors/reader.js';
import { describeSharded, findShardIndex, isShardIndexName } from './sharded/index.js';
import { looksLikeZip } from './zip/zip.js';

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

export function detectFormat(path: string): FormatReader {
  const head = readHead(path);
  if (head.length === 0) throw new DiffaiError(path, 'empty file');
  const reader = READERS.find((r) => r.sniff(head, path));
  if (reader) return reader;
  if (looksLikeZip(head)) throw new DiffaiError(path, 'a zip archive that is neither a PyTorch checkpoint (no data.pkl) nor a NumPy .npz (no .npy entries)');
  const expected = EXPECTED_BY_EXTENSION.find(([re]) => re.test(path))?.[1];
  throw new DiffaiError(path, expected ? `not a valid ${expected} (${describeMagic(head)})` : `unrecognised file format (${describeMagic(head)})`);
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
export async function describeModel(path: string): Promise<ModelDescription> {
  const st = statSync(path, { throwIfNoEntry: false });
  if (st?.isDirectory()) {
    if (findShardIndex(path) === undefined)
      throw new DiffaiError(path, 'is a directory without a shard index (to compare two directories, give two directories)');
    return describeSharded(path, describeModel);
  }
  if (st?.isFile() && isShardIndexName(path)) return describeSharded(path, describeModel);
  return detectFormat(path).describe(path);
}

function describeMagic(head: Uint8Array): string {
  const hex = Buffer.from(head.subarray(0, 8)).toString('hex').replace(/(..)/g, '$1 ').trim();
  return `first bytes: ${hex}`;
}
