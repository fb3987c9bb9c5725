/**
 * Partitioned runs (README "Beyond one machine"): `diffai A B --partition K/N -o partials`
 * writes share K of N of the diff's partial results to stdout; `diffai merge PARTS…` turns
 * the parts of all N shares into the report a single run makes (src/diff/partition.ts) and
 * prints it as the diff command does, in any output format.
 */
import type { AnalysisArgs } from './analysis-options.js';
import { wantsAnalysis } from './analysis-options.js';
import { DiffaiError } from '../errors.js';
import { STDIN } from '../formats/input.js';
import type { DiffReport } from '../library.js';
import { compileRegex, parseEpsilon, parseThreads, type DiffArgs } from './args.js';
import { type InputArgs, loadOptionsFrom } from './input-options.js';
import { warn, write } from './output.js';
import { createProgress } from './progress.js';

/** The output format of --partition runs (not a report: input for `diffai merge`). */
export const PARTIALS = 'partials';

export interface PartitionArgs extends DiffArgs, InputArgs {
  partition?: string;
  more?: string[];
}

/** The options fixed by the partitioned run; merge refuses them (the parts say what they were). */
const FIXED_BY_RUN = [
  'epsilon',
  'path',
  'ignoreKeysRegex',
  'shapeOnly',
  'sortByChangeMagnitude',
  'format',
  'stripPrefix',
  'rename',
  'renameA',
  'renameB',
  'partition',
];
const INPUT_KEYS = ['format', 'stripPrefix', 'rename', 'renameA', 'renameB'] as const;

export async function runPartition(args: PartitionArgs): Promise<number> {
  if (String(args.output) !== PARTIALS)
    throw new DiffaiError(undefined, '--partition writes partial results: add -o partials (and merge the parts with `diffai merge`)');
  if (args.partition === undefined) throw new DiffaiError(undefined, '-o partials is the output of a partitioned run: add --partition K/N');
  const unsupported = [
    (args.more ?? []).length > 0 && 'more than two files',
    wantsAnalysis(args as DiffArgs & AnalysisArgs) && 'analyses',
    args.includeCharts && '--include-charts',
    args.generateReport !== undefined && '--generate-report',
    [args.fileA, args.fileB].includes(STDIN) && 'standard input',
  ].filter(Boolean);
  if (unsupported.length > 0) throw new DiffaiError(undefined, `--partition compares two model files; it does not take ${unsupported.join(', ')}`);
  const { diffPartition, parsePartition } = await import('../diff/partition.js');
  const share = parsePartition(args.partition);
  compileRegex(args.ignoreKeysRegex); // a bad pattern is a usage error here, not at merge
  const input = Object.fromEntries(INPUT_KEYS.map((k) => [k, args[k]]));
  loadOptionsFrom(input); // a bad --rename rule, likewise
  const progress = createProgress(!args.quiet);
  const text = await diffPartition(
    args.fileA,
    args.fileB,
    share,
    {
      epsilon: parseEpsilon(args.epsilon),
      path: args.path,
      ignoreKeysRegex: args.ignoreKeysRegex,
      shapeOnly: args.shapeOnly === true,
      sortByChangeMagnitude: args.sortByChangeMagnitude === true,
      input,
    },
    loadOptionsFrom,
    {
      threads: parseThreads(args.threads, (line) => warn(args.quiet, line)),
      onTotalBytes: (n) => progress.setTotal(n),
      onBytes: (n) => progress.add(n),
    },
  ).finally(() => progress.stop());
  await write(text);
  return 0;
}

export interface MergeArgs extends Omit<DiffArgs, 'fileA' | 'fileB'> {
  parts: string[];
}

/** The merged report and the diff arguments it was made with (printed as a diff). */
export async function mergeReport(args: MergeArgs): Promise<{ report: DiffReport; args: DiffArgs & InputArgs }> {
  const given = FIXED_BY_RUN.filter((k) => (args as unknown as Record<string, unknown>)[k] !== undefined);
  if (given.length > 0)
    throw new DiffaiError(
      undefined,
      `merge: ${given.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')} was fixed by the partitioned run`,
    );
  if (String(args.output) === PARTIALS) throw new DiffaiError(undefined, 'merge: -o partials is the output of --partition runs; choose another output format');
  const { mergePartials } = await import('../diff/partition.js');
  const merged = await mergePartials(args.parts.map(String), loadOptionsFrom);
  const report: DiffReport = { kind: 'pair', a: merged.a, b: merged.b, results: merged.results };
  const o = merged.options;
  const diffArgs: DiffArgs & InputArgs = {
    ...args,
    ...(o.input as InputArgs),
    fileA: merged.a.path,
    fileB: merged.b.path,
    epsilon: String(o.epsilon),
    path: o.path,
    ignoreKeysRegex: o.ignoreKeysRegex,
    shapeOnly: o.shapeOnly,
    sortByChangeMagnitude: o.sortByChangeMagnitude,
  };
  return { report, args: diffArgs };
}
