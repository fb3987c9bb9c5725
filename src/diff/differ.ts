/**
 * The differ: joins two model descriptions by name, decides what is added, removed,
 * reshaped or re-typed from descriptors alone, and asks the engine to compare the values
 * of common tensors (one streaming pass per pair).
 */
import type { ComparedTensors, Executor, TensorPartials } from '../engine/executor.js';
import type { ComparePartial } from '../engine/partials.js';
import type { LeafValue, ModelDescription, TensorDescriptor } from '../formats/types.js';
import { tensorColumns } from '../formats/table.js';
import { SMALL_JOB_BYTES, batchable, runAll } from '../engine/executor.js';
import { COLUMN_WINDOW, ColumnJobBuilder, STATS_FIELDS, changedAt, columnDtype, dtypeCode, recordWidth, unpackCompared } from '../engine/columns.js';
import { SAFETENSORS_METADATA_PREFIX } from '../model/ties.js';
import { metadataKind, modelViewOf, type ModelView } from '../model/view.js';
import { compareNames } from '../names.js';
import { comparison, recordComparison, recordTensorStats, tensorStats } from './stats.js';
import { annotateOriginalNames } from './rename.js';
import type { DiffResult } from './types.js';

export interface DiffOptions {
  /** A common tensor is unchanged when every |a − b| ≤ epsilon (0: exact equality). */
  epsilon?: number;
  /** Only names containing this substring. */
  path?: string;
  /** Skip names matching this pattern. */
  ignoreKeysRegex?: RegExp;
  /** Compare headers only; read no tensor data. */
  shapeOnly?: boolean;
  /** Order value changes by relative L2 change, largest first. */
  sortByChangeMagnitude?: boolean;
  /** --regression-test: tolerances that replace the per-dtype defaults (either may be given alone). */
  tolerance?: { rtol?: number; atol?: number };
  /** --alert-on-degradation: fidelity bounds of B against A over the parameters (--min-sqnr in dB, --min-cosine). */
  degradation?: { minSqnrDb?: number; minCosine?: number };
  /** Attention analyses: query heads and key/value heads (--num-heads/--num-kv-heads), over config.json and file metadata. */
  numHeads?: number;
  numKvHeads?: number;
  /** --clustering-change: clusters (k) and the layer whose rows are clustered (--clusters, --cluster-layer). */
  clustering?: { clusters?: number; layer?: string };
  /** --low-rank-delta: singular values computed per weight delta (--rank-k; default 32). */
  rankK?: number;
  /** --inference-speed-estimate: --context-length, --input-shape (e.g. [1, 3, 224, 224]), --device-profile, --peak-tflops, --bandwidth-gbs. */
  inference?: { contextLength?: number; inputShape?: number[]; deviceProfile?: string; peakTflops?: number; bandwidthGbs?: number };
  /** Called with the partials of every tensor read (analyses reuse them; the diff does not change). */
  onTensor?: (event: TensorEvent) => void;
}

/** What the diff pass learned about one tensor: stats of A and/or B, and their comparison when both were read. */
export interface TensorEvent {
  name: string;
  a?: TensorDescriptor;
  b?: TensorDescriptor;
  partialsA?: TensorPartials;
  partialsB?: TensorPartials;
  comparison?: ComparePartial;
}

export function nameFilter(options: DiffOptions): (name: string) => boolean {
  const { path, ignoreKeysRegex } = options;
  return (name) => (path === undefined || name.includes(path)) && !(ignoreKeysRegex && matchesKey(ignoreKeysRegex, name));
}

/**
 * A metadata entry matches under its full name (`__metadata__.timestamp`) or its key alone
 * (`timestamp`), so the documents' `--ignore-keys-regex "^(timestamp|_metadata)"` works.
 */
function matchesKey(re: RegExp, name: string): boolean {
  // A /g or /y pattern keeps lastIndex between test() calls; reset it for each name.
  re.lastIndex = 0;
  if (re.test(name)) return true;
  if (!name.startsWith(SAFETENSORS_METADATA_PREFIX)) return false;
  re.lastIndex = 0;
  return re.test(name.slice(SAFETENSORS_METADATA_PREFIX.length));
}

export type NameFilterName = 'path' | 'ignoreKeysRegex';

/**
 * The name filters of `options` that match no name (tensor or other entry) of any of the
 * models: a `path` nothing contains, an `ignoreKeysRegex` nothing matches. Either one is
 * almost always a typo, and would otherwise look like "no differences".
 */
export function unmatchedFilters(models: ModelDescription[], options: DiffOptions): NameFilterName[] {
  const { path, ignoreKeysRegex } = options;
  let pathSeen = path === undefined;
  let regexSeen = ignoreKeysRegex === undefined;
  if (pathSeen && regexSeen) return [];
  for (const m of models) {
    for (const name of namesOf(m)) {
      if (!pathSeen && name.includes(path!)) pathSeen = true;
      if (!regexSeen && matchesKey(ignoreKeysRegex!, name)) regexSeen = true;
      if (pathSeen && regexSeen) return [];
    }
  }
  return [...(pathSeen ? [] : ['path' as const]), ...(regexSeen ? [] : ['ignoreKeysRegex' as const])];
}

function* namesOf(m: ModelDescription): Iterable<string> {
  const cols = tensorColumns(m);
  for (let i = 0; i < cols.count; i++) yield cols.name(i);
  yield* Object.keys(m.leaves);
}

/**
 * What the differ asks about tensor values: the executor, or results recorded by partitioned
 * runs (partition.ts). A source with `runColumns` gets small plain common tensors as column jobs.
 */
export type TensorSource = Pick<Executor, 'stats' | 'compare' | 'statsMany' | 'compareMany'> & Partial<Pick<Executor, 'runColumns'>>;

/**
 * Every difference of two models, in name order (by change magnitude with
 * `sortByChangeMagnitude`). `plan` defaults to planDiff(a, b, options); callers that sized
 * the work from it pass it in.
 */
export async function diffModels(
  a: ModelDescription,
  b: ModelDescription,
  executor: TensorSource,
  options: DiffOptions = {},
  plan: DiffPlan = planDiff(a, b, options),
): Promise<DiffResult[]> {
  const all: DiffResult[] = [];
  for await (const window of diffWindows(a, b, executor, options, plan)) for (const r of window) all.push(r);
  // Windows come in name order already; only the magnitude order needs a sort.
  return options.sortByChangeMagnitude ? sortResults(all, true) : all;
}

/**
 * The differences of two models a window at a time, in name order (what sortResults(…,
 * false) gives the whole list): the plan is a name-ordered merge join, so it is run in
 * segments of consecutive steps and each segment's results are handed on as soon as it is
 * done, while the next segment runs. A million changed tensors then never hold a million
 * result objects (the command line prints and drops each window). `sortByChangeMagnitude`
 * is ignored here: that order needs every result (diffModels sorts them).
 */
export async function* diffWindows(
  a: ModelDescription,
  b: ModelDescription,
  executor: TensorSource,
  options: DiffOptions = {},
  plan: DiffPlan = planDiff(a, b, options),
): AsyncGenerator<DiffResult[], void, undefined> {
  const epsilon = options.epsilon ?? 0;
  const read = !options.shapeOnly;
  const removed = (step: { a: TensorDescriptor }, p: TensorPartials | undefined): DiffResult[] => {
    options.onTensor?.({ name: step.a.name, a: step.a, partialsA: p });
    return [{ kind: 'TensorRemoved', name: step.a.name, stats: tensorStats(step.a, p) }];
  };
  const added = (step: { b: TensorDescriptor }, p: TensorPartials | undefined): DiffResult[] => {
    options.onTensor?.({ name: step.b.name, b: step.b, partialsB: p });
    return [{ kind: 'TensorAdded', name: step.b.name, stats: tensorStats(step.b, p) }];
  };
  /** The header-level results of a common tensor; `r` when its values were compared. */
  const common = (ta: TensorDescriptor, tb: TensorDescriptor, r: ComparedTensors | undefined): DiffResult[] => {
    const out: DiffResult[] = [];
    const unchanged = (): DiffResult[] => (out.length === 0 ? NOTHING : out);
    if (!sameDims(ta.shape, tb.shape)) out.push({ kind: 'TensorShapeChanged', name: ta.name, a: ta.shape, b: tb.shape });
    if (ta.dtype !== tb.dtype) out.push({ kind: 'TensorDtypeChanged', name: ta.name, a: ta.dtype, b: tb.dtype });
    if (!r) {
      options.onTensor?.({ name: ta.name, a: ta, b: tb });
      return unchanged();
    }
    options.onTensor?.({ name: ta.name, a: ta, b: tb, partialsA: r.a, partialsB: r.b, comparison: r.comparison });
    if (r.comparison.changed > 0) {
      out.push({ kind: 'TensorStatsChanged', name: ta.name, a: tensorStats(ta, r.a), b: tensorStats(tb, r.b), comparison: comparison(r.comparison) });
    }
    return unchanged();
  };
  // Values are compared even across dtypes (f32 → f16 rounding is a real change); not across shapes.
  const compares = (step: PlanStep) => read && (step.kind !== 'common' || sameDims(step.a.shape, step.b.shape));
  // Without reads or a listener, a common tensor with the same shape and dtype yields nothing: not even built.
  const skip = (i: number) => !read && options.onTensor === undefined && plan.sameHeader(i);
  // Small plain common tensors (both files described column-wise): column jobs, objects only for what is reported.
  const runColumns = executor.runColumns?.bind(executor);
  const files = read && runColumns ? plan.plainFiles() : undefined;
  const builder = files && new ColumnJobBuilder('compare', files, COLUMN_WINDOW, epsilon);
  // One records array for every segment: a segment's records are read before the next runs (runPlan).
  let recordSpace: Float64Array | undefined;
  const columns = builder && {
    accepts: (i: number) => plan.columnar(i),
    run: async (indices: number[]): Promise<(m: number) => DiffResult[]> => {
      for (const i of indices) plan.addColumnItem(i, builder);
      recordSpace ??= new Float64Array(COLUMN_WINDOW * recordWidth('compare'));
      const records = await runColumns!(builder.take(), recordSpace);
      // Result objects are built from the records as they are handed on (see runPlan).
      return (m) => {
        const i = indices[m]!;
        // Same shape by construction: of the same dtype, an unchanged tensor yields nothing and a
        // changed one its values' change, built from the record (no descriptors or partials).
        if (options.onTensor === undefined && plan.sameHeader(i)) return changedAt(records, m) === 0 ? NOTHING : [plan.statsChanged(i, records, m)];
        const step = plan.step(i) as Extract<PlanStep, { kind: 'common' }>;
        const r = unpackCompared(records, m);
        return common(step.a, step.b, { a: { stats: r.a }, b: { stats: r.b }, comparison: r.comparison });
      };
    },
  };
  const segments = runPlan(
    plan,
    skip,
    columns,
    // Steps that read nothing, and small plain tensors, are done in windows without a promise each.
    (step) => !compares(step) || stepTensors(step).every(batchable),
    async (step): Promise<DiffResult[]> => {
      if (step.kind === 'removed') return removed(step, await executor.stats(step.a));
      if (step.kind === 'added') return added(step, await executor.stats(step.b));
      return common(step.a, step.b, await executor.compare(step.a, step.b, epsilon));
    },
    async (steps): Promise<DiffResult[][]> => {
      const reads = steps.filter(compares);
      const pairs = reads.filter((s) => s.kind === 'common').map((s) => [s.a, s.b] as [TensorDescriptor, TensorDescriptor]);
      const singles = reads.filter((s) => s.kind !== 'common').map((s) => (s.kind === 'removed' ? s.a : s.b));
      const [compared, stats] = await Promise.all([executor.compareMany(pairs, epsilon), executor.statsMany(singles)]);
      let c = 0;
      let t = 0;
      return steps.map((step) => {
        const reads = compares(step);
        if (step.kind === 'common') return common(step.a, step.b, reads ? compared[c++] : undefined);
        const p = reads ? stats[t++] : undefined;
        return step.kind === 'removed' ? removed(step, p) : added(step, p);
      });
    },
  );
  // Ties and other entries (few): sorted once, then merged into the tensors' results by name.
  // On equal names the tensor's results come first, as the stable sort of one list had them.
  const keep = nameFilter(options);
  const va = modelViewOf(a);
  const vb = modelViewOf(b);
  const [leavesA, leavesB] = comparableLeaves(va, vb);
  const extras = sortResults([...tieChanges(va, vb, keep), ...diffLeaves(leavesA, leavesB, keep)], false);
  let e = 0;
  for await (const found of segments) {
    const window: DiffResult[] = [];
    for (const r of found) {
      while (e < extras.length && compareNames(extras[e]!.name, r.name) < 0) window.push(extras[e++]!);
      window.push(r);
    }
    if (window.length > 0) yield annotateOriginalNames(window, a, b);
  }
  if (e < extras.length) yield annotateOriginalNames(extras.slice(e), a, b);
}

/** Plan steps per segment: one column job's worth, so a segment of small tensors is one job. */
const SEGMENT_STEPS = COLUMN_WINDOW;
/**
 * Steps whose results are built and handed on together: a few hundred result objects, which
 * are printed and dropped before a young-generation collection would keep them (building a
 * whole segment's at once got them promoted, and the old generation grew by ~100 MB).
 */
const STEPS_PER_WINDOW = 256;

/** A finished segment: the results of its step at each position, built on demand. */
interface Segment {
  size: number;
  results(pos: number): DiffResult[];
}

/**
 * Runs a plan a segment (SEGMENT_STEPS steps that are not skipped) at a time and yields its
 * results in plan order, STEPS_PER_WINDOW steps at a time. Within a segment, small plain
 * common tensors go in one column job (whose results become objects only as they are
 * yielded), the other steps through runAll (small ones in windows, larger ones each as a
 * task, started at once so the executor can schedule the largest first). One segment is
 * held at a time: a million-tensor plan never holds a million step or result objects.
 */
async function* runPlan(
  plan: DiffPlan,
  skip: (i: number) => boolean,
  columns: { accepts(i: number): boolean; run(indices: number[]): Promise<(m: number) => DiffResult[]> } | undefined,
  isSmall: (step: PlanStep) => boolean,
  task: (step: PlanStep) => Promise<DiffResult[]>,
  batch: (steps: PlanStep[]) => Promise<DiffResult[][]>,
): AsyncGenerator<DiffResult[], void, undefined> {
  let next = 0;
  const segment = async (): Promise<Segment> => {
    const columnar: number[] = [];
    const others: number[] = [];
    // Per position: the column item (m ≥ 0) or the other step (−1 − k) it holds.
    const source: number[] = [];
    for (; next < plan.length && source.length < SEGMENT_STEPS; next++) {
      if (skip(next)) continue;
      if (columns?.accepts(next)) source.push(columnar.push(next) - 1);
      else source.push(-others.push(next));
    }
    const rest = runAll(
      others.map((i) => plan.step(i)),
      isSmall,
      task,
      batch,
    );
    rest.catch(() => undefined); // awaited below; a failure meanwhile is not unhandled
    let fromColumns: ((m: number) => DiffResult[]) | undefined;
    try {
      if (columnar.length > 0) fromColumns = await columns!.run(columnar);
    } finally {
      await Promise.allSettled([rest]); // when the column job fails, still wait for the tasks before reporting it
    }
    const done = await rest;
    return { size: source.length, results: (pos) => (source[pos]! >= 0 ? fromColumns!(source[pos]!) : done[-1 - source[pos]!]!) };
  };
  // One segment at a time: starting the next before handing this one on (to overlap printing
  // and reading) held two segments' records and jobs, +6–10 MB, for no measurable gain on 2 cores.
  while (next < plan.length) {
    const current = await segment();
    for (let from = 0; from < current.size; from += STEPS_PER_WINDOW) {
      const window: DiffResult[] = [];
      const to = Math.min(current.size, from + STEPS_PER_WINDOW);
      for (let pos = from; pos < to; pos++) for (const r of current.results(pos)) window.push(r);
      if (window.length > 0) yield window;
    }
  }
}

/** The results of an unchanged tensor: one shared empty list (a million tensors keep no million arrays). */
const NOTHING: DiffResult[] = Object.freeze([]) as unknown as DiffResult[];

export type PlanStep =
  | { kind: 'removed'; a: TensorDescriptor }
  | { kind: 'added'; b: TensorDescriptor }
  | { kind: 'common'; a: TensorDescriptor; b: TensorDescriptor };

const REMOVED = 0;
const ADDED = 1;
const COMMON = 2;

/**
 * A plan column-wise: step i is entry `atA[i]` of A's view and/or `atB[i]` of B's (-1 when
 * absent). Steps are built as objects only when run (`step(i)`), a window at a time.
 */
export class DiffPlan {
  length = 0;
  private kinds: Uint8Array;
  private atA: Int32Array;
  private atB: Int32Array;

  constructor(
    readonly a: ModelView,
    readonly b: ModelView,
  ) {
    // Sized for the usual case (most names on both sides); push grows it up to |A| + |B|.
    const likely = Math.max(a.rows.size, b.rows.size, 16);
    this.kinds = new Uint8Array(likely);
    this.atA = new Int32Array(likely);
    this.atB = new Int32Array(likely);
  }

  push(kind: typeof REMOVED | typeof ADDED | typeof COMMON, ka: number, kb: number): void {
    if (this.length === this.kinds.length) this.grow();
    this.kinds[this.length] = kind;
    this.atA[this.length] = ka;
    this.atB[this.length] = kb;
    this.length++;
  }

  private grow(): void {
    const n = Math.min(this.kinds.length * 2, this.a.rows.size + this.b.rows.size);
    const more = <T extends Uint8Array | Int32Array>(old: T, make: new (n: number) => T): T => {
      const out = new make(n);
      out.set(old);
      return out;
    };
    this.kinds = more(this.kinds, Uint8Array);
    this.atA = more(this.atA, Int32Array);
    this.atB = more(this.atB, Int32Array);
  }

  step(i: number): PlanStep {
    const kind = this.kinds[i]!;
    if (kind === REMOVED) return { kind: 'removed', a: this.a.rows.descriptor(this.atA[i]!) };
    if (kind === ADDED) return { kind: 'added', b: this.b.rows.descriptor(this.atB[i]!) };
    return { kind: 'common', a: this.a.rows.descriptor(this.atA[i]!), b: this.b.rows.descriptor(this.atB[i]!) };
  }

  /** Every step as an object (small plans, tests). */
  steps(): PlanStep[] {
    return Array.from({ length: this.length }, (_, i) => this.step(i));
  }

  /** Bytes step i reads (0 for a reshaped common tensor: values are not compared across shapes). */
  readBytes(i: number): number {
    const kind = this.kinds[i]!;
    if (kind === REMOVED) return this.a.rows.readBytes(this.atA[i]!);
    if (kind === ADDED) return this.b.rows.readBytes(this.atB[i]!);
    return this.commonBytes(i, false);
  }

  /** True when step i is a common tensor with the same shape and dtype on both sides. */
  sameHeader(i: number): boolean {
    if (this.kinds[i] !== COMMON) return false;
    const [ka, kb] = [this.atA[i]!, this.atB[i]!];
    return this.a.rows.dtype(ka) === this.b.rows.dtype(kb) && sameDims(this.a.rows.shape(ka), this.b.rows.shape(kb));
  }

  /** Both views' files when each is plain (plainFile: dense little-endian byte ranges of one file per side). */
  plainFiles(): [string, string] | undefined {
    const a = this.a.rows.plainFile();
    const b = this.b.rows.plainFile();
    return a !== undefined && b !== undefined ? [a, b] : undefined;
  }

  /**
   * True when step i can go in a column job (plainFiles() must be defined): a common tensor
   * of the same shape, real dtypes of one element per block, at most SMALL_JOB_BYTES a side.
   */
  columnar(i: number): boolean {
    if (this.kinds[i] !== COMMON) return false;
    const ka = this.atA[i]!;
    const kb = this.atB[i]!;
    return (
      columnDtype(this.a.rows.dtype(ka)) &&
      columnDtype(this.b.rows.dtype(kb)) &&
      sameDims(this.a.rows.shape(ka), this.b.rows.shape(kb)) &&
      this.a.rows.readBytes(ka) <= SMALL_JOB_BYTES &&
      this.b.rows.readBytes(kb) <= SMALL_JOB_BYTES
    );
  }

  /** The TensorStatsChanged result of columnar step i from record m of its compare column job's records. */
  statsChanged(i: number, records: Float64Array, m: number): DiffResult {
    const ka = this.atA[i]!;
    const kb = this.atB[i]!;
    const ra = this.a.rows;
    const rb = this.b.rows;
    const at = m * recordWidth('compare');
    return {
      kind: 'TensorStatsChanged',
      name: ra.name(ka),
      a: recordTensorStats(ra.shape(ka), ra.dtype(ka), ra.numel(ka), records, at),
      b: recordTensorStats(rb.shape(kb), rb.dtype(kb), rb.numel(kb), records, at + STATS_FIELDS),
      comparison: recordComparison(records, at + 2 * STATS_FIELDS),
    };
  }

  /** Adds columnar step i to a compare column job. */
  addColumnItem(i: number, job: ColumnJobBuilder): void {
    const ka = this.atA[i]!;
    const kb = this.atB[i]!;
    const ra = this.a.rows;
    const rb = this.b.rows;
    job.push(ra.numel(ka), dtypeCode(ra.dtype(ka)), ra.byteOffset(ka), dtypeCode(rb.dtype(kb)), rb.byteOffset(kb));
  }

  /** Bytes of the larger side step i reads. */
  largestRead(i: number): number {
    const kind = this.kinds[i]!;
    if (kind === REMOVED) return this.a.rows.readBytes(this.atA[i]!);
    if (kind === ADDED) return this.b.rows.readBytes(this.atB[i]!);
    return this.commonBytes(i, true);
  }

  /** Bytes common step i reads on both sides (`largest`: on its larger side); 0 across shapes. No array per step: planBytes asks a million times. */
  private commonBytes(i: number, largest: boolean): number {
    const ka = this.atA[i]!;
    const kb = this.atB[i]!;
    if (!sameDims(this.a.rows.shape(ka), this.b.rows.shape(kb))) return 0;
    const a = this.a.rows.readBytes(ka);
    const b = this.b.rows.readBytes(kb);
    return largest ? Math.max(a, b) : a + b;
  }
}

/**
 * Joins the tensors of A and B by name (after the name filters); reads nothing. The join is
 * tie-aware: a name tied to the same representative on both sides is compared once, through
 * the representative; a name missing on one side whose tie partner is on both sides is not a
 * removal or addition; a name the writer dropped for a tie compares its representative's values.
 * Both views list their entries in name order, so the join is a merge (no name index), and
 * the plan lists its steps in name order too: removed and common steps in A's order, each
 * added step where its name falls (diffWindows hands results on in plan order).
 */
export function planDiff(a: ModelDescription, b: ModelDescription, options: DiffOptions = {}): DiffPlan {
  const keep = nameFilter(options);
  const va = modelViewOf(a);
  const vb = modelViewOf(b);
  const ra = va.rows;
  const rb = vb.rows;
  const plan = new DiffPlan(va, vb);
  const added = (k: number) => {
    const name = rb.name(k);
    if (keep(name) && !partnerOnBothSides(vb, va, name)) plan.push(ADDED, -1, k);
  };
  // Names are made as strings only where a filter must see them or a name is on one side.
  const filtered = options.path !== undefined || options.ignoreKeysRegex !== undefined;
  let kb = 0;
  for (let ka = 0; ka < ra.size; ka++) {
    let order = -1;
    // B's names before this one are in B only: added steps, where their names fall.
    while (kb < rb.size && (order = rb.compareName(kb, ra, ka)) < 0) added(kb++);
    const match = kb < rb.size && order === 0 ? kb++ : -1;
    if (filtered && !keep(ra.name(ka))) continue;
    if (match >= 0) {
      const tie = ra.tiedTo(ka);
      if (tie !== undefined && tie === rb.tiedTo(match) && keep(tie)) continue;
      plan.push(COMMON, ka, match);
    } else if (!partnerOnBothSides(va, vb, ra.name(ka))) {
      plan.push(REMOVED, ka, -1);
    }
  }
  while (kb < rb.size) added(kb++);
  return plan;
}

/** True when `name` (present in `own` only) is tied there to a name present in both views. */
function partnerOnBothSides(own: ModelView, other: ModelView, name: string): boolean {
  const group = own.tieGroupOf(name);
  return group?.members.some((m) => m !== name && other.rows.find(m) >= 0) === true;
}

/**
 * Ties present on one side only, between names present on both sides: one result per name
 * that is not its group's representative, naming that side's representative as the partner.
 */
export function tieChanges(va: ModelView, vb: ModelView, keep: (name: string) => boolean): DiffResult[] {
  const out: DiffResult[] = [];
  const has = (v: ModelView, name: string) => v.rows.find(name) >= 0;
  const representative = (v: ModelView, name: string) => {
    const k = v.rows.find(name);
    return (k >= 0 ? v.rows.tiedTo(k) : undefined) ?? name;
  };
  const oneSided = (tied: ModelView, other: ModelView, state: 'a' | 'b') => {
    for (const g of tied.tieGroups) {
      for (const m of g.members) {
        if (m === g.representative || !keep(m) || !has(other, m) || !has(other, g.representative)) continue;
        if (representative(other, m) === representative(other, g.representative)) continue;
        out.push(
          state === 'a'
            ? { kind: 'TieChanged', name: m, partner: g.representative, a: 'tied', b: 'untied' }
            : { kind: 'TieChanged', name: m, partner: g.representative, a: 'untied', b: 'tied' },
        );
      }
    }
  };
  oneSided(va, vb, 'a');
  oneSided(vb, va, 'b');
  return out;
}

/**
 * The leaves to compare: tie aliases are compared as ties (tieChanges), and metadata only one
 * side's format can hold (safetensors `__metadata__`, ONNX model fields, GGUF key/value pairs …) is left out when the other side's format
 * has no place for it. Between two files of the same kind, metadata changes stay differences.
 */
export function comparableLeaves(va: ModelView, vb: ModelView): [Record<string, LeafValue>, Record<string, LeafValue>] {
  const filter = (own: ModelView, other: ModelView): Record<string, LeafValue> => {
    const dropFormat = metadataKind(own.description.format) !== metadataKind(other.description.format);
    const out = Object.create(null) as Record<string, LeafValue>;
    for (const [k, v] of Object.entries(own.description.leaves)) {
      if (own.aliasLeaves.has(k) || (dropFormat && own.formatLeaves.has(k))) continue;
      out[k] = v;
    }
    return out;
  };
  return [filter(va, vb), filter(vb, va)];
}

/** The tensors one plan step reads. */
function stepTensors(s: PlanStep): TensorDescriptor[] {
  return s.kind === 'common' ? [s.a, s.b] : s.kind === 'added' ? [s.b] : [s.a];
}

/** Tensor bytes a plan will read (0 with --shape-only). */
export function planBytes(plan: DiffPlan, options: DiffOptions = {}): number {
  if (options.shapeOnly) return 0;
  let bytes = 0;
  for (let i = 0; i < plan.length; i++) bytes += plan.readBytes(i);
  return bytes;
}

export function diffLeaves(a: Record<string, LeafValue>, b: Record<string, LeafValue>, keep: (name: string) => boolean): DiffResult[] {
  const results: DiffResult[] = [];
  for (const [name, va] of Object.entries(a)) {
    if (!keep(name)) continue;
    if (!Object.hasOwn(b, name)) results.push({ kind: 'Removed', name, value: va });
    else if (!leafEqual(va, b[name]!)) results.push({ kind: 'Modified', name, a: va, b: b[name]! });
  }
  for (const [name, vb] of Object.entries(b)) {
    if (keep(name) && !Object.hasOwn(a, name)) results.push({ kind: 'Added', name, value: vb });
  }
  return results;
}

/**
 * Names in natural order (names.ts: layers.2 before layers.10); with magnitude sorting, value
 * changes first by relative L2 change, then value changes of tensors that were all zero in A
 * (no relative change exists: ranking them first would hide the real changes) by mean
 * |b − a|, then everything else.
 */
export function sortResults(results: DiffResult[], byMagnitude: boolean): DiffResult[] {
  const byName = (x: DiffResult, y: DiffResult) => compareNames(x.name, y.name);
  if (!byMagnitude) return results.sort(byName);
  const tier = (r: DiffResult) => (r.kind !== 'TensorStatsChanged' ? 2 : r.comparison.rel_l2_change === null ? 1 : 0);
  const magnitude = (r: DiffResult) => (r.kind !== 'TensorStatsChanged' ? 0 : (r.comparison.rel_l2_change ?? r.comparison.mean_abs_diff ?? 0));
  return results.sort((x, y) => tier(x) - tier(y) || magnitude(y) - magnitude(x) || byName(x, y));
}

function sameDims(a: number[], b: number[]): boolean {
  if (a === b) return true; // shapes shared between tensors of one file
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function leafEqual(a: LeafValue, b: LeafValue): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b || (Number.isNaN(a) && Number.isNaN(b));
  return JSON.stringify(a) === JSON.stringify(b);
}
