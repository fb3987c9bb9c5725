/**
 * The public library API: what Node tools import. Each call owns its engine and closes
 * its files before returning.
 */
import { DiffaiError } from './errors.js';
import { byteLength, type DType } from './dtypes.js';
import { Engine } from './engine/engine.js';
import { Executor, runAll, tensorBytes, type ExecutorOptions } from './engine/executor.js';
import { diffModels, nameFilter, planBytes, planDiff, type DiffOptions } from './diff/differ.js';
import { tensorStats as toTensorStats } from './diff/stats.js';
import type { DiffResult, TensorStats } from './diff/types.js';
import { alignGgufNames } from './formats/gguf/hf-names.js';
import { describeModel } from './formats/registry.js';
import { listModels, pairModels } from './diff/directory.js';
import { findShardIndex } from './formats/sharded/index.js';
import { statSync } from 'node:fs';
import type { FormatName, LeafValue, ModelDescription, TensorDescriptor } from './formats/types.js';
import { buildModelView } from './model/view.js';
import type { Role } from './model/roles.js';
import type { AnalysisEntry } from './analysis/types.js';

export interface LibraryOptions extends DiffOptions, Pick<ExecutorOptions, 'signal' | 'onBytes' | 'chunkElements' | 'threads'> {
  /** Called once with the total tensor bytes the call will read (for progress display). */
  onTotalBytes?: (bytes: number) => void;
}

/** The diff of two model files (with analyses when asked for); `render(report)` prints it. */
export interface DiffReport {
  kind: 'pair';
  a: ModelDescription;
  b: ModelDescription;
  results: DiffResult[];
  /** Present when analyses were run (`diffSequence` with two files). */
  analyses?: AnalysisEntry[];
}

/** Compares two model files; `results` is empty when they do not differ. */
export async function diffFiles(pathA: string, pathB: string, options: LibraryOptions = {}): Promise<DiffReport> {
  const [a, b] = alignGgufNames(await Promise.all([describeModel(pathA), describeModel(pathB)])) as [ModelDescription, ModelDescription];
  const plan = planDiff(a, b, options);
  const total = planBytes(plan, options);
  options.onTotalBytes?.(total);
  const executor = new Executor(options, total);
  try {
    return { kind: 'pair', a, b, results: await diffModels(a, b, executor, options, plan) };
  } finally {
    await executor.close();
  }
}

export interface FileDiff {
  /** Path relative to both directories (`/`-separated). */
  file: string;
  status: 'identical' | 'modified' | 'only_in_a' | 'only_in_b';
  results: DiffResult[];
}

export interface DirectoryDiffReport {
  kind: 'directory';
  /** The two directories as given. */
  a: string;
  b: string;
  files: FileDiff[];
}

/** True when `path` is a directory to be diffed file by file (not a sharded model). */
export function isModelDirectory(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() === true && findShardIndex(path) === undefined;
}

/**
 * Compares the model files under two directories, paired by relative path; a sharded model
 * inside counts as one. Files on one side only are reported, not read.
 */
export async function diffDirectories(dirA: string, dirB: string, options: LibraryOptions = {}): Promise<DirectoryDiffReport> {
  const pairs = pairModels(listModels(dirA), listModels(dirB));
  const files: FileDiff[] = [];
  for (const pair of pairs) {
    options.signal?.throwIfAborted();
    if (pair.kind === 'onlyA') files.push({ file: pair.relative, status: 'only_in_a', results: [] });
    else if (pair.kind === 'onlyB') files.push({ file: pair.relative, status: 'only_in_b', results: [] });
    else {
      const { results } = await diffFiles(pair.a, pair.b, options);
      files.push({ file: pair.relative, status: results.length > 0 ? 'modified' : 'identical', results });
    }
  }
  return { kind: 'directory', a: dirA, b: dirB, files };
}

export interface InspectedTensor extends TensorStats {
  name: string;
  role: Role;
  /** Tied tensors other than their group's representative: the representative. */
  tied_to?: string;
  /** Quantized stand-ins (dynamic-quantization packed params): the float parameter they replace. */
  linked_to?: string;
}

export interface InspectReport {
  kind: 'inspect';
  file: string;
  format: FormatName;
  tensors: InspectedTensor[];
  metadata: Record<string, LeafValue>;
  warnings: string[];
}

/** Statistics of every tensor in one file (and its metadata); throws DiffaiError on an invalid file. */
export async function inspectFile(path: string, options: LibraryOptions = {}): Promise<InspectReport> {
  const model = await describeModel(path);
  const view = buildModelView(model);
  const keep = nameFilter(options);
  // A tied name's values are its representative's: read each group once.
  const selected = [...view.entries.values()].filter((e) => keep(e.name));
  const toRead = new Map<string, TensorDescriptor>();
  for (const e of selected) {
    const source = e.tiedTo ?? e.name;
    if (!toRead.has(source)) toRead.set(source, view.entries.get(source)!.descriptor);
  }
  const total = options.shapeOnly ? 0 : tensorBytes([...toRead.values()]);
  options.onTotalBytes?.(total);
  const executor = new Executor(options, total);
  try {
    // Large tensors are submitted at once so the executor can schedule the largest first; small ones in windows.
    const reads = [...toRead];
    const read = await runAll(
      reads,
      ([, desc]) => (options.shapeOnly ? 0 : tensorBytes([desc])),
      async ([, desc]) => (options.shapeOnly ? undefined : await executor.stats(desc)),
    );
    const partials = new Map(reads.map(([name], i) => [name, read[i]] as const));
    const tensors: InspectedTensor[] = selected.map((e) => ({
      name: e.name,
      role: e.role,
      ...(e.tiedTo !== undefined ? { tied_to: e.tiedTo } : {}),
      ...(e.linkedTo !== undefined ? { linked_to: e.linkedTo } : {}),
      ...toTensorStats(e.descriptor, partials.get(e.tiedTo ?? e.name)),
    }));
    const metadata = Object.fromEntries(Object.entries(model.leaves).filter(([k]) => keep(k)));
    return { kind: 'inspect', file: path, format: model.format, tensors, metadata, warnings: model.warnings };
  } finally {
    await executor.close();
  }
}

const TYPED_DTYPES: Array<[abstract new (...args: never[]) => ArrayBufferView, DType]> = [
  [Float64Array, 'f64'],
  [Float32Array, 'f32'],
  [BigInt64Array, 'i64'],
  [BigUint64Array, 'u64'],
  [Int32Array, 'i32'],
  [Uint32Array, 'u32'],
  [Int16Array, 'i16'],
  [Uint16Array, 'u16'],
  [Int8Array, 'i8'],
  [Uint8Array, 'u8'],
];

/**
 * Statistics of elements in memory, through the same kernels as files. The dtype is taken
 * from the typed array unless given (required for Buffers and for f16/bf16 held in Uint16Array).
 */
export function tensorStats(data: ArrayBufferView, dtype?: DType): TensorStats {
  const resolved = dtype ?? TYPED_DTYPES.find(([ctor]) => data instanceof ctor && !Buffer.isBuffer(data))?.[1];
  if (!resolved) throw new DiffaiError(undefined, 'tensorStats: pass a dtype for this kind of buffer');
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const size = byteLength(resolved, 1);
  if (bytes.length % size !== 0)
    throw new DiffaiError(undefined, `tensorStats: ${bytes.length} bytes is not a whole number of ${resolved} elements (${size} bytes each)`);
  const engine = new Engine();
  try {
    const partial = engine.statsOfBytes(bytes, resolved);
    const numel = partial.count + partial.nan + partial.posinf + partial.neginf;
    return toTensorStats(
      {
        name: 'array',
        dtype: resolved,
        shape: [numel],
        numel,
        byteOrder: 'little',
        source: { kind: 'file', path: '<memory>', offset: 0, length: bytes.length },
      },
      { stats: partial },
    );
  } finally {
    engine.close();
  }
}
