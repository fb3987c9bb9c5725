/**
 * The public library API: what Node tools import. Each call owns its engine and closes
 * its files before returning.
 */
import { checkOptions, checkPath } from './arguments.js';
import { DiffaiError } from './errors.js';
import { byteLength, DTYPES, type DType } from './dtypes.js';
import { Engine } from './engine/engine.js';
import { BATCH_WINDOW, Executor, SMALL_JOB_BYTES, batchable, runAll, type ExecutorOptions, type TensorPartials } from './engine/executor.js';
import { diffModels, nameFilter, planBytes, planDiff, unmatchedFilters, type DiffOptions, type NameFilterName } from './diff/differ.js';
import { tensorStats as toTensorStats } from './diff/stats.js';
import type { DiffResult, TensorStats } from './diff/types.js';
import { withModels, type LoadOptions } from './load.js';
import { listModels, pairModels } from './diff/directory.js';
import { findShardIndex } from './formats/sharded/index.js';
import { statPath } from './io/file.js';
import type { FormatName, LeafValue, ModelDescription } from './formats/types.js';
import { buildModelView } from './model/view.js';
import type { Role } from './model/roles.js';
import type { AnalysisEntry, ValueHistogram } from './analysis/types.js';

export interface LibraryOptions extends DiffOptions, LoadOptions, Pick<ExecutorOptions, 'signal' | 'onBytes' | 'chunkElements' | 'threads'> {
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
  /** Value histograms of the most changed tensors, when a report asked for charts (`diffSequence` with `histograms`). */
  histograms?: ValueHistogram[];
}

/** Compares two model files; `results` is empty when they do not differ. */
export async function diffFiles(pathA: string, pathB: string, options?: LibraryOptions): Promise<DiffReport> {
  checkPath('diffFiles', 'pathA', pathA);
  checkPath('diffFiles', 'pathB', pathB);
  const checked = checkOptions('diffFiles', options);
  return withModels([pathA, pathB], checked, ([a, b]) => diffDescribed(a!, b!, checked));
}

/** The diff of two described models (read through the engine). */
export async function diffDescribed(a: ModelDescription, b: ModelDescription, options: LibraryOptions = {}): Promise<DiffReport> {
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
  /** Name filters (`path`, `ignoreKeysRegex`) that matched no name in any file compared. */
  unmatchedFilters?: NameFilterName[];
  /** Entries skipped while listing (broken symbolic links, link loops), each naming its path. */
  warnings?: string[];
}

/** True when `path` is a directory to be diffed file by file (not a sharded model). */
export function isModelDirectory(path: string): boolean {
  return statPath(path)?.isDirectory() === true && findShardIndex(path) === undefined;
}

/**
 * Compares the model files under two directories, paired by relative path; a sharded model
 * inside counts as one. Files on one side only are reported, not read.
 */
export async function diffDirectories(dirA: string, dirB: string, options?: LibraryOptions): Promise<DirectoryDiffReport> {
  checkPath('diffDirectories', 'dirA', dirA);
  checkPath('diffDirectories', 'dirB', dirB);
  options = checkOptions('diffDirectories', options);
  const [listA, listB] = [listModels(dirA), listModels(dirB)];
  const pairs = pairModels(listA.units, listB.units);
  const files: FileDiff[] = [];
  let unmatched: NameFilterName[] = unmatchedFilters([], options);
  for (const pair of pairs) {
    options.signal?.throwIfAborted();
    if (pair.kind === 'onlyA') files.push({ file: pair.relative, status: 'only_in_a', results: [] });
    else if (pair.kind === 'onlyB') files.push({ file: pair.relative, status: 'only_in_b', results: [] });
    else {
      const { a, b, results } = await diffFiles(pair.a, pair.b, options);
      const here = unmatchedFilters([a, b], options);
      unmatched = unmatched.filter((f) => here.includes(f));
      files.push({ file: pair.relative, status: results.length > 0 ? 'modified' : 'identical', results });
    }
  }
  return { kind: 'directory', a: dirA, b: dirB, files, unmatchedFilters: unmatched, warnings: [...listA.warnings, ...listB.warnings] };
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
  /** Name filters (`path`, `ignoreKeysRegex`) that matched no name in the file. */
  unmatchedFilters?: NameFilterName[];
}

/** Statistics of every tensor in one file (and its metadata); throws DiffaiError on an invalid file. */
export async function inspectFile(path: string, options?: LibraryOptions): Promise<InspectReport> {
  checkPath('inspectFile', 'path', path);
  const checked = checkOptions('inspectFile', options);
  return withModels([path], checked, ([model]) => inspectDescribed(model!, checked));
}

/** Statistics of every tensor of a described model (every byte of every tensor is read unless shapeOnly). */
export async function inspectDescribed(model: ModelDescription, options: LibraryOptions = {}): Promise<InspectReport> {
  const path = model.path;
  const rows = buildModelView(model).rows;
  const keep = nameFilter(options);
  // Entries shown (positions in name order) and, for each, the position whose values it has:
  // a tied name's values are its representative's, so each group is read once.
  const selected: number[] = [];
  const sourceOf = new Map<number, number>();
  for (let k = 0; k < rows.size; k++) {
    if (!keep(rows.name(k))) continue;
    selected.push(k);
    const tie = rows.tiedTo(k);
    if (tie !== undefined) sourceOf.set(k, rows.find(tie));
  }
  const source = (k: number) => sourceOf.get(k) ?? k;
  const toRead = [...new Set(selected.map(source))];
  const total = options.shapeOnly ? 0 : toRead.reduce((s, k) => s + rows.readBytes(k), 0);
  options.onTotalBytes?.(total);
  const executor = new Executor(options, total);
  try {
    // Large tensors start at once (the executor schedules the largest first); small plain
    // ones go to the engine in windows (runs of neighbours read together), descriptors built
    // a window at a time.
    const partials = new Map<number, TensorPartials>();
    if (!options.shapeOnly) {
      const large = toRead.filter((k) => rows.readBytes(k) > SMALL_JOB_BYTES);
      const started = Promise.all(large.map((k) => executor.stats(rows.descriptor(k)).then((p) => partials.set(k, p))));
      started.catch(() => undefined); // awaited below, after the windows
      const small = toRead.filter((k) => rows.readBytes(k) <= SMALL_JOB_BYTES);
      try {
        for (let w = 0; w < small.length; w += BATCH_WINDOW) {
          const window = small.slice(w, w + BATCH_WINDOW).map((k) => [k, rows.descriptor(k)] as const);
          const read = await runAll(
            window,
            ([, desc]) => batchable(desc),
            ([, desc]) => executor.stats(desc),
            (items) => executor.statsMany(items.map(([, desc]) => desc)),
          );
          window.forEach(([k], i) => {
            partials.set(k, read[i]!);
          });
        }
      } finally {
        await started.catch(() => undefined); // when a window fails, still wait for the large reads before reporting it
      }
      await started;
    }
    const tensors: InspectedTensor[] = selected.map((k) => {
      // Built field by field (no spreads): one hidden class for a million tensors.
      const t = { name: rows.name(k), role: rows.role(k) } as InspectedTensor;
      const tie = rows.tiedTo(k);
      if (tie !== undefined) t.tied_to = tie;
      const link = rows.linkedTo(k);
      if (link !== undefined) t.linked_to = link;
      return Object.assign(t, toTensorStats(rows.descriptor(k), partials.get(source(k))));
    });
    const metadata = Object.fromEntries(Object.entries(model.leaves).filter(([k]) => keep(k)));
    return {
      kind: 'inspect',
      file: path,
      format: model.format,
      tensors,
      metadata,
      warnings: model.warnings,
      unmatchedFilters: unmatchedFilters([model], options),
    };
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
  if (!ArrayBuffer.isView(data)) throw new DiffaiError(undefined, 'tensorStats: data must be a typed array, DataView or Buffer');
  if (dtype !== undefined && !(DTYPES as readonly string[]).includes(dtype))
    throw new DiffaiError(undefined, `tensorStats: unknown dtype ${JSON.stringify(String(dtype))} (known: ${DTYPES.join(', ')})`);
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
