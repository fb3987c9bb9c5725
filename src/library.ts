/**
 * The public library API: what Node tools import. Each call owns its engine and closes
 * its files before returning.
 */
import { checkOptions, checkPath } from './arguments.js';
import { DiffaiError } from './errors.js';
import { byteLength, DTYPES, type DType } from './dtypes.js';
import { Engine } from './engine/engine.js';
import { BATCH_WINDOW, Executor, SMALL_JOB_BYTES, batchable, runAll, type ExecutorOptions } from './engine/executor.js';
import { COLUMN_WINDOW, ColumnJobBuilder, STATS_FIELDS, columnDtype, dtypeCode } from './engine/columns.js';
import {
  type DiffPlan,
  diffModels,
  diffWindows,
  nameFilter,
  planBytes,
  planDiff,
  unmatchedFilters,
  type DiffOptions,
  type NameFilterName,
} from './diff/differ.js';
import { tensorStats as toTensorStats } from './diff/stats.js';
import { PartialsColumns, ViewInspectRows, rowsInspectReport, type InspectReport } from './report/inspect-rows.js';
import type { DiffResult, PairStream, TensorStats } from './diff/types.js';
import { withModels, type LoadOptions } from './load.js';
import { listModels, pairModels } from './diff/directory.js';
import { findShardIndex } from './formats/sharded/index.js';
import { statPath } from './io/file.js';
import type { ModelDescription } from './formats/types.js';
import { buildModelView } from './model/view.js';
import type { AnalysisEntry, ValueHistogram } from './analysis/types.js';

export interface LibraryOptions extends DiffOptions, LoadOptions, Pick<ExecutorOptions, 'signal' | 'onBytes' | 'chunkElements' | 'readsInFlight' | 'threads'> {
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
  return withPlan(a, b, options, async (executor, plan) => ({ kind: 'pair', a, b, results: await diffModels(a, b, executor, options, plan) }));
}

/**
 * diffFiles for output that is printed as it comes (the command line): `consume` gets the
 * differences a window at a time, in name order, while the files are read; the files and
 * the engine are closed once it returns. Nothing is held beyond a window or two, so a
 * million changed tensors cost no million result objects. `sortByChangeMagnitude` is not
 * applied (that order needs every result: use diffFiles).
 */
export async function diffFilesStreamed<T>(pathA: string, pathB: string, options: LibraryOptions, consume: (stream: PairStream) => Promise<T>): Promise<T> {
  checkPath('diffFilesStreamed', 'pathA', pathA);
  checkPath('diffFilesStreamed', 'pathB', pathB);
  const checked = checkOptions('diffFilesStreamed', options);
  return withModels([pathA, pathB], checked, ([a, b]) =>
    withPlan(a!, b!, checked, (executor, plan) => consume({ a: a!, b: b!, windows: diffWindows(a!, b!, executor, checked, plan) })),
  );
}

/** Plans the diff, reports its size (onTotalBytes) and runs `run` with an executor sized for it, closed afterwards. */
async function withPlan<T>(
  a: ModelDescription,
  b: ModelDescription,
  options: LibraryOptions,
  run: (executor: Executor, plan: DiffPlan) => Promise<T>,
): Promise<T> {
  const plan = planDiff(a, b, options);
  const total = planBytes(plan, options);
  options.onTotalBytes?.(total);
  const executor = new Executor(options, total);
  try {
    return await run(executor, plan);
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

export type { InspectedTensor, InspectReport } from './report/inspect-rows.js';

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
  // a tied name's values are its representative's, so each group is read once. Column-wise:
  // a million-tensor file keeps no object per tensor until a renderer asks for one.
  const chosen = new Uint32Array(rows.size);
  const sourceOf = new Uint32Array(rows.size);
  const toRead = new Uint8Array(rows.size);
  let count = 0;
  // Names are made only for a filter to see (a million-tensor file makes no string per tensor here).
  const filtered = options.path !== undefined || options.ignoreKeysRegex !== undefined;
  for (let k = 0; k < rows.size; k++) {
    if (filtered && !keep(rows.name(k))) continue;
    const tie = rows.tiedTo(k);
    const found = tie === undefined ? -1 : rows.find(tie);
    const source = found >= 0 ? found : k;
    chosen[count] = k;
    sourceOf[count++] = source;
    toRead[source] = 1;
  }
  let total = 0;
  if (!options.shapeOnly) for (let k = 0; k < rows.size; k++) if (toRead[k] === 1) total += rows.readBytes(k);
  options.onTotalBytes?.(total);
  const partials = new PartialsColumns(options.shapeOnly ? 0 : rows.size);
  const executor = new Executor(options, total);
  try {
    // Large tensors start at once (the executor schedules the largest first); small plain
    // ones go to the engine in windows (runs of neighbours read together), descriptors built
    // a window at a time.
    if (!options.shapeOnly) {
      const large: Array<Promise<void>> = [];
      const small: number[] = [];
      // Small plain tensors of a file described column-wise (safetensors): column jobs, typed arrays in and out.
      const file = rows.plainFile();
      const columns = file === undefined ? undefined : new ColumnJobBuilder('stats', [file], COLUMN_WINDOW);
      const columnar = (k: number) => columns !== undefined && columnDtype(rows.dtype(k));
      for (let k = 0; k < rows.size; k++) {
        if (toRead[k] === 0) continue;
        if (rows.readBytes(k) > SMALL_JOB_BYTES) large.push(executor.stats(rows.descriptor(k)).then((p) => partials.set(k, p)));
        else if (!columnar(k)) small.push(k);
      }
      const started = Promise.all(large);
      started.catch(() => undefined); // awaited below, after the windows
      try {
        // Column windows filled in a second pass over the rows (no list of a million positions),
        // their records in one array reused from window to window.
        if (columns) {
          const window = new Uint32Array(COLUMN_WINDOW);
          const records = new Float64Array(COLUMN_WINDOW * STATS_FIELDS);
          let n = 0;
          const run = async () => {
            await executor.runColumns(columns.take(), records);
            for (let m = 0; m < n; m++) partials.setRecord(window[m]!, records, m * STATS_FIELDS);
            n = 0;
          };
          for (let k = 0; k < rows.size; k++) {
            if (toRead[k] === 0 || rows.readBytes(k) > SMALL_JOB_BYTES || !columnar(k)) continue;
            window[n++] = k;
            columns.push(rows.numel(k), dtypeCode(rows.dtype(k)), rows.byteOffset(k));
            if (n === COLUMN_WINDOW) await run();
          }
          if (n > 0) await run();
        }
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
    const metadata = Object.fromEntries(Object.entries(model.leaves).filter(([k]) => keep(k)));
    return rowsInspectReport(
      {
        kind: 'inspect',
        file: path,
        format: model.format,
        metadata,
        warnings: model.warnings,
        unmatchedFilters: unmatchedFilters([model], options),
      },
      new ViewInspectRows(rows, chosen.subarray(0, count), sourceOf.subarray(0, count), partials),
    );
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
