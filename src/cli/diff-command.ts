/**
 * `diffai A B [C …]`: builds the report in the library (a pair, a directory or a sequence
 * with analyses), prints warnings and verbose lines on stderr, then the report in the
 * `--output` format (or the `--brief` line), and returns the exit code.
 */
import type { AnalysisName } from '../analysis/registry.js';
import { DiffaiError } from '../errors.js';
import { diffDirectories, diffFiles, isModelDirectory, type LibraryOptions } from '../library.js';
import type { ModelDescription } from '../formats/types.js';
import { choosePalette } from '../render/color.js';
import { render } from '../render/registry.js';
import { reportDiffers, reportModels, type Report } from '../report/types.js';
import { gatedAnalyses, selectedAnalyses, thresholdOptions, wantsAnalysis, type AnalysisArgs } from './analysis-options.js';
import { compileRegex, type DiffArgs } from './args.js';
import { verboseLine, write } from './output.js';
import { createProgress } from './progress.js';

export async function runDiff(args: DiffArgs): Promise<number> {
  if (!Number.isFinite(args.epsilon) || args.epsilon < 0) throw new DiffaiError(undefined, `--epsilon must be a non-negative number, got ${args.epsilon}`);
  const started = performance.now();
  const progress = createProgress(!args.quiet);
  const options: LibraryOptions = {
    threads: args.threads,
    onTotalBytes: (n) => progress.setTotal(n),
    onBytes: (n) => progress.add(n),
    epsilon: args.epsilon,
    path: args.path,
    ignoreKeysRegex: compileRegex(args.ignoreKeysRegex),
    shapeOnly: args.shapeOnly,
    sortByChangeMagnitude: args.sortByChangeMagnitude,
  };
  const stop = () => progress.stop();
  const analysisArgs = args as DiffArgs & AnalysisArgs;
  if (wantsAnalysis(analysisArgs)) return runAnalysisDiff(analysisArgs, options, stop, started);
  const dirA = isModelDirectory(args.fileA);
  const dirB = isModelDirectory(args.fileB);
  if (dirA !== dirB) {
    const dir = dirA ? args.fileA : args.fileB;
    throw new DiffaiError(dir, 'is a directory but the other argument is a file (give two directories or two model files)');
  }
  if (dirA) {
    const report = await diffDirectories(args.fileA, args.fileB, options).finally(stop);
    if (!args.quiet) await print(args, report, reportDiffers(report) ? [`Directories ${args.fileA} and ${args.fileB} differ`] : []);
    return reportDiffers(report) ? 1 : 0;
  }
  const report = await diffFiles(args.fileA, args.fileB, options).finally(stop);
  const differ = reportDiffers(report);
  describeRun(args, reportModels(report), `${report.results.length} differences in ${elapsed(started)} ms`);
  if (!args.quiet) await print(args, report, differ ? [`Files ${args.fileA} and ${args.fileB} differ`] : []);
  return differ ? 1 : 0;
}

/**
 * Two or more files with analyses, or three or more files: the report carries every
 * analysis shown; a gate (`--fail-on anomalies,deployment`) runs its analysis even when it is
 * not shown, and exits 1 when a result fails it.
 */
async function runAnalysisDiff(args: DiffArgs & AnalysisArgs, options: LibraryOptions, stop: () => void, started: number): Promise<number> {
  const paths = [args.fileA, args.fileB, ...(args.more ?? []).map(String)];
  const wanted = selectedAnalyses(args);
  const gated = gatedAnalyses(args);
  const run = new Set<AnalysisName>([...wanted, ...gated]);
  // Loaded only when asked for, to keep plain diffs quick to start.
  const { diffSequence } = await import('../report/sequence.js');
  const full = await diffSequence(paths, run, { ...options, ...thresholdOptions(args) }).finally(stop);
  const failed = full.analyses.filter((e) => gated.has(e.name as AnalysisName) && e.failed === true);
  const report = { ...full, analyses: full.analyses.filter((e) => wanted.has(e.name as AnalysisName)) };
  const pairs = report.kind === 'sequence' ? report.pairs : [report];
  const differences = pairs.reduce((s, p) => s + p.results.length, 0);
  describeRun(args, reportModels(report), `${differences} differences, ${report.analyses.length} analyses in ${elapsed(started)} ms`);
  const brief = pairs.filter((p) => p.results.length > 0).map((p) => `Files ${p.a.path} and ${p.b.path} differ`);
  for (const e of failed) brief.push(`${e.label} failed: ${e.summary}`);
  if (!args.quiet) await print(args, report, brief);
  return reportDiffers(report) || failed.length > 0 ? 1 : 0;
}

/** The report in the chosen format, or with `--brief` only the given lines. */
async function print(args: DiffArgs, report: Report, briefLines: string[]): Promise<void> {
  if (args.brief) {
    if (briefLines.length > 0) await write(briefLines.map((l) => `${l}\n`).join(''));
    return;
  }
  await write(await render(report, args.output, { stats: args.stats, palette: choosePalette(args.color, process.stdout.isTTY === true) }));
}

/** Reader warnings (unless quiet) and, with --verbose, one line per model and a closing line. */
function describeRun(args: DiffArgs, models: ModelDescription[], closing: string): void {
  if (!args.quiet) for (const m of models) for (const w of m.warnings) process.stderr.write(`diffai: ${m.path}: warning: ${w}\n`);
  if (args.verbose) {
    for (const m of models) verboseLine(true, `${m.path}: ${m.format}, ${m.tensors.length} tensors, ${Object.keys(m.leaves).length} other entries`);
    verboseLine(true, closing);
  }
}

function elapsed(started: number): string {
  return (performance.now() - started).toFixed(1);
}
