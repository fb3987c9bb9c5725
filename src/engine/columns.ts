/**
 * Many small tensors column-wise: a job of plain tensors (dense little-endian byte ranges of
 * one file per side) given as typed arrays, whose results come back as one Float64Array of
 * fixed-width records. A million small tensors then cost a few typed arrays per job instead
 * of descriptors, job items, promises and result objects per tensor, none of which would
 * die young while their window waits for its reads (they are what kept RSS high).
 */
import { DTYPES, dtypeInfo, isComplex, type DType } from '../dtypes.js';
import { type ComparePartial, type CompareResult, STATS_RECORD, type StatsPartial, emptyStats, recordIsEmpty } from './partials.js';

/** The ops a column job runs (stats of one side, or stats of both sides and their comparison). */
export type ColumnOp = 'stats' | 'compare';

export interface ColumnJob {
  op: ColumnOp;
  /** One file per side (1 for stats, 2 for compare). */
  paths: string[];
  /** Per side: each item's dtype as its index in DTYPES. */
  dtypes: Uint8Array[];
  /** Per side: each item's absolute byte offset in its file. */
  offsets: Float64Array[];
  /** Elements of each item (equal on both sides). */
  numels: Float64Array;
  /** The compare op's tolerance. */
  epsilon: number;
}

/** Fields of a packed StatsPartial and of a packed ComparePartial. */
export const STATS_FIELDS = 10;
export const COMPARE_FIELDS = 9;

/** Doubles per item in a column job's result: stats, or stats A, stats B and the comparison. */
export function recordWidth(op: ColumnOp): number {
  return op === 'stats' ? STATS_FIELDS : 2 * STATS_FIELDS + COMPARE_FIELDS;
}

const DTYPE_CODE = new Map<DType, number>(DTYPES.map((d, i) => [d, i]));

/** Bytes per element by dtype code (column jobs hold dtypes of one element per block only). */
const ELEMENT_BYTES = Float64Array.from(DTYPES, (d) => {
  const info = dtypeInfo(d);
  return info.blockElements === 1 ? info.blockBytes : Number.NaN;
});

/** Bytes of item i on `side`. */
export function itemBytes(job: ColumnJob, side: number, i: number): number {
  return ELEMENT_BYTES[job.dtypes[side]![i]!]! * job.numels[i]!;
}

/** Small plain tensors per column job (a few MB of typed arrays, records included). */
export const COLUMN_WINDOW = 8192;

/** True for a dtype a column job can hold: real, one element per block. */
export function columnDtype(dtype: DType): boolean {
  return COLUMN_DTYPES.has(dtype);
}

/** The dtypes columnDtype accepts (asked for every tensor of a plan, twice). */
const COLUMN_DTYPES: ReadonlySet<DType> = new Set(DTYPES.filter((d) => !isComplex(d) && dtypeInfo(d).blockElements === 1));

/** The code a column job stores for `dtype`. */
export function dtypeCode(dtype: DType): number {
  return DTYPE_CODE.get(dtype)!;
}

/** The order of a StatsPartial's fields in a column record (packStats and unpackStats write it out field by field). */
const STATS_ORDER: ReadonlyArray<keyof StatsPartial> = ['count', 'mean', 'm2', 'exp', 'min', 'max', 'nan', 'posinf', 'neginf', 'zeros'];

/** For each packed field, its index in a kernel's stats record (partials.ts STATS_RECORD). */
const FROM_RECORD = Int32Array.from(STATS_ORDER, (field) => STATS_RECORD[field]);

export function packStats(p: StatsPartial, out: Float64Array, at: number): void {
  out[at] = p.count;
  out[at + 1] = p.mean;
  out[at + 2] = p.m2;
  out[at + 3] = p.exp;
  out[at + 4] = p.min;
  out[at + 5] = p.max;
  out[at + 6] = p.nan;
  out[at + 7] = p.posinf;
  out[at + 8] = p.neginf;
  out[at + 9] = p.zeros;
}

/**
 * packStats(mergeStats(emptyStats(), statsFromRecord(r))) from a kernel's stats record `r`,
 * with no objects: the record's fields, or the empty accumulator's when the record holds no
 * element (what mergeStats keeps then).
 */
export function packStatsRecord(r: Float64Array, out: Float64Array, at: number): void {
  if (recordIsEmpty(r)) {
    packStats(EMPTY_STATS, out, at);
    return;
  }
  for (let f = 0; f < STATS_FIELDS; f++) out[at + f] = r[FROM_RECORD[f]!]!;
}

const EMPTY_STATS = Object.freeze(emptyStats());

/** unpackStats into an existing partial (no object made). */
export function unpackStatsInto(r: Float64Array, at: number, p: StatsPartial): StatsPartial {
  p.count = r[at]!;
  p.mean = r[at + 1]!;
  p.m2 = r[at + 2]!;
  p.exp = r[at + 3]!;
  p.min = r[at + 4]!;
  p.max = r[at + 5]!;
  p.nan = r[at + 6]!;
  p.posinf = r[at + 7]!;
  p.neginf = r[at + 8]!;
  p.zeros = r[at + 9]!;
  return p;
}

export function unpackStats(r: Float64Array, at: number): StatsPartial {
  return {
    count: r[at]!,
    mean: r[at + 1]!,
    m2: r[at + 2]!,
    exp: r[at + 3]!,
    min: r[at + 4]!,
    max: r[at + 5]!,
    nan: r[at + 6]!,
    posinf: r[at + 7]!,
    neginf: r[at + 8]!,
    zeros: r[at + 9]!,
  };
}

export function packCompare(c: ComparePartial, out: Float64Array, at: number): void {
  out[at] = c.pairs;
  out[at + 1] = c.maxAbs;
  out[at + 2] = c.sumAbs;
  out[at + 3] = c.changed;
  out[at + 4] = c.sumSqDiff;
  out[at + 5] = c.sumAB;
  out[at + 6] = c.sumAA;
  out[at + 7] = c.sumBB;
  out[at + 8] = c.mismatched;
}

/**
 * packCompare(mergeCompare(emptyCompare(), compareFromRecord(r))) from a kernel's compare
 * record (the same order), with no objects: mergeCompare keeps the record as it is unless a
 * sum is −0, and otherwise adds it to the empty accumulator's zeros (0 + −0 is +0).
 */
export function packCompareRecord(r: Float64Array, out: Float64Array, at: number): void {
  let negativeZero = false;
  for (const k of COMPARE_SUMS) negativeZero ||= Object.is(r[k], -0);
  out[at] = r[0]!;
  out[at + 1] = negativeZero ? Math.max(0, r[1]!) : r[1]!;
  for (let k = 2; k < COMPARE_FIELDS; k++) out[at + k] = negativeZero ? 0 + r[k]! : r[k]!;
}

/** Fields of a compare record that mergesToOther (partials.ts) checks for −0: maxAbs and the sums. */
const COMPARE_SUMS = [1, 2, 4, 5, 6, 7];

/** unpackCompare into an existing partial (no object made). */
export function unpackCompareInto(r: Float64Array, at: number, c: ComparePartial): ComparePartial {
  c.pairs = r[at]!;
  c.maxAbs = r[at + 1]!;
  c.sumAbs = r[at + 2]!;
  c.changed = r[at + 3]!;
  c.sumSqDiff = r[at + 4]!;
  c.sumAB = r[at + 5]!;
  c.sumAA = r[at + 6]!;
  c.sumBB = r[at + 7]!;
  c.mismatched = r[at + 8]!;
  return c;
}

export function unpackCompare(r: Float64Array, at: number): ComparePartial {
  return {
    pairs: r[at]!,
    maxAbs: r[at + 1]!,
    sumAbs: r[at + 2]!,
    changed: r[at + 3]!,
    sumSqDiff: r[at + 4]!,
    sumAB: r[at + 5]!,
    sumAA: r[at + 6]!,
    sumBB: r[at + 7]!,
    mismatched: r[at + 8]!,
  };
}

/** Item i's record of a compare job's result. */
export function unpackCompared(r: Float64Array, i: number): CompareResult {
  const at = i * recordWidth('compare');
  return { a: unpackStats(r, at), b: unpackStats(r, at + STATS_FIELDS), comparison: unpackCompare(r, at + 2 * STATS_FIELDS) };
}

/** How many elements of item i of a compare job's result differ (|a − b| > ε, or non-finite mismatches). */
export function changedAt(r: Float64Array, i: number): number {
  return r[i * recordWidth('compare') + 2 * STATS_FIELDS + 3]!;
}

/** Packs one item's op result at record i. */
export function packResult(op: ColumnOp, result: StatsPartial | CompareResult, out: Float64Array, i: number): void {
  const at = i * recordWidth(op);
  if (op === 'stats') {
    packStats(result as StatsPartial, out, at);
    return;
  }
  const r = result as CompareResult;
  packStats(r.a, out, at);
  packStats(r.b, out, at + STATS_FIELDS);
  packCompare(r.comparison, out, at + 2 * STATS_FIELDS);
}

/**
 * Items [from, to) of a job in the order `order` gives (positions into the job's columns):
 * the executor hands the engine items in file order, so neighbours share reads.
 */
export function selectItems(job: ColumnJob, order: ArrayLike<number>, from: number, to: number): ColumnJob {
  const n = to - from;
  const pick = <T extends Uint8Array | Float64Array>(src: T, make: new (n: number) => T): T => {
    const out = new make(n);
    for (let i = 0; i < n; i++) out[i] = src[order[from + i]!]!;
    return out;
  };
  return {
    op: job.op,
    paths: job.paths,
    dtypes: job.dtypes.map((d) => pick(d, Uint8Array)),
    offsets: job.offsets.map((o) => pick(o, Float64Array)),
    numels: pick(job.numels, Float64Array),
    epsilon: job.epsilon,
  };
}

/** Items [from, to) of a job (copies: a job may cross to a worker, which would otherwise get the whole buffers). */
export function sliceItems(job: ColumnJob, from: number, to: number): ColumnJob {
  return {
    op: job.op,
    paths: job.paths,
    dtypes: job.dtypes.map((d) => d.slice(from, to)),
    offsets: job.offsets.map((o) => o.slice(from, to)),
    numels: job.numels.slice(from, to),
    epsilon: job.epsilon,
  };
}

/** A column job filled row by row (the differ's window of small common tensors). */
export class ColumnJobBuilder {
  count = 0;
  private dtypes: Uint8Array[];
  private offsets: Float64Array[];
  private numels: Float64Array;

  constructor(
    readonly op: ColumnOp,
    readonly paths: string[],
    readonly capacity: number,
    private epsilon = 0,
  ) {
    this.dtypes = paths.map(() => new Uint8Array(capacity));
    this.offsets = paths.map(() => new Float64Array(capacity));
    this.numels = new Float64Array(capacity);
  }

  /** Adds an item: its element count and, per side, its dtype code and absolute byte offset. */
  push(numel: number, dtypeA: number, offsetA: number, dtypeB = 0, offsetB = 0): void {
    const i = this.count++;
    this.numels[i] = numel;
    this.dtypes[0]![i] = dtypeA;
    this.offsets[0]![i] = offsetA;
    if (this.paths.length > 1) {
      this.dtypes[1]![i] = dtypeB;
      this.offsets[1]![i] = offsetB;
    }
  }

  /** The items pushed so far as a job (copies), then empty for the next window. */
  take(): ColumnJob {
    const n = this.count;
    this.count = 0;
    const job: ColumnJob = {
      op: this.op,
      paths: this.paths,
      dtypes: this.dtypes.map((d) => d.slice(0, n)),
      offsets: this.offsets.map((o) => o.slice(0, n)),
      numels: this.numels.slice(0, n),
      epsilon: this.epsilon,
    };
    return job;
  }
}
