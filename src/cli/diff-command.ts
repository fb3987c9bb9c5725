/**
 * `diffai A B [C …]`: builds the report in the library (a pair, a directory or a sequence
 * with analyses), prints warnings and verbose lines on stderr, then the report in the
 * `--output` format (or the `--brief` line), and returns the exit code: as git diff, 0 when
 * the comparison ran; 1 when the models differ under --exit-code (implied by --quiet and
 * --brief) or when a gate (--fail-on) fails.
 */
import { statSync } from 'node:fs';
import type { AnalysisName } from '../analysis/registry.js';
import { unmatchedFilters } from '../diff/differ.js';
import { DiffaiError } from '../errors.js';
import { diffDirectories, diffFiles, diffFilesStreamed, type DiffReport, isModelDirectory, type LibraryOptions } from '../library.js';
import type { DiffResult } from '../diff/types.js';
import type { ModelDescription } from '../formats/types.js';
import { tensorColumns } from '../formats/table.js';
import { choosePalette } from '../render/color.js';
import { RENDERERS, renderChunks } from '../render/registry.js';
import { reportDiffers, reportModels, type Report } from '../report/types.js';
import { gatedAnalyses, selectedAnalyses, analysisOptions, wantsAnalysis, type AnalysisArgs } from './analysis-options.js';
import { compileRegex, parseEpsilon, parseThreads, type DiffArgs } from './args.js';
import { termSafe } from '../terminal.js';
import { STDIN } from '../formats/input.js';
import { isRemotePath } from '../io/remote-path.js';
import { filterWarnings } from './filter-warnings.js';
import { HOLD_CHARS, verboseLine, warn, write, writeChunks, writeError, stdoutIsTerminal } from './output.js';
import { chartsNote, outputFormat, reportRenderOptions, reportTarget, writeReport } from './report-options.js';
import { createProgress } from './progress.js';
import { MAX_GATHERED_RESULTS, gatheredTooMany } from './gather-limit.js';
import { loadOptionsFrom, type InputArgs } from './input-options.js';
import { describeKeyMaps } from './key-map-notes.js';
import { nowMs } from './clock.js';
import { startEngineEarly } from './kernels-early.js';

export async function runDiff(args: DiffArgs): Promise<number> {
  // A share of a partitioned run (partition-command.ts): partial results, not a report.
  if ((args as { partition?: string }).partition !== undefined || String(args.output) === 'partials')
    return (await import('./partition-command.js')).runPartition(args);
  const epsilon = parseEpsilon(args.epsilon);
  const threads = parseThreads(args.threads, (line) => warn(args.quiet, line));
  const paths = [args.fileA, args.fileB, ...((args as DiffArgs & AnalysisArgs).more ?? []).map(String)];
  reportMissing(paths);
  reportTarget(args); // a bad report file name fails before any work
  if (!args.shapeOnly) startEngineEarly(paths, threads);
  const started = nowMs();
  const progress = createProgress(!args.quiet);
  const options: LibraryOptions = {
    threads,
    onTotalBytes: (n) => progress.setTotal(n),
    onBytes: (n) => progress.add(n),
    epsilon,
    path: args.path,
    ignoreKeysRegex: compileRegex(args.ignoreKeysRegex),
    shapeOnly: args.shapeOnly,
    sortByChangeMagnitude: args.sortByChangeMagnitude,
    ...loadOptionsFrom(args as DiffArgs & InputArgs),
  };
  const stop = () => progress.stop();
  const exitOnDifference = args.exitCode || args.quiet || args.brief;
  const analysisArgs = args as DiffArgs & AnalysisArgs;
  const dirA = isModelDirectory(args.fileA);
  const dirB = isModelDirectory(args.fileB);
  // Charts of two files need the value histograms the analysis path's passes provide.
  if (wantsAnalysis(analysisArgs) || (args.includeCharts && !dirA && !dirB)) return runAnalysisDiff(analysisArgs, paths, options, stop, started);
  if (dirA !== dirB) {
    const dir = dirA ? args.fileA : args.fileB;
    throw new DiffaiError(dir, 'is a directory but the other argument is a file (give two directories or two model files)');
  }
  if (dirA) {
    const report = await diffDirectories(args.fileA, args.fileB, options).finally(stop);
    const differ = reportDiffers(report);
    for (const w of report.warnings ?? []) warn(args.quiet, `warning: ${w}`);
    for (const w of filterWarnings(report.unmatchedFilters ?? [], 3, args)) warn(args.quiet, w);
    await print(args, report, differ ? [`Directories ${args.fileA} and ${args.fileB} differ`] : []);
    return exitOnDifference && differ ? 1 : 0;
  }
  const streamed = await streamPairDiff(args, options, stop, started);
  if (streamed !== undefined) return streamed;
  const report = await diffFiles(args.fileA, args.fileB, options).finally(stop);
  return finishPairDiff(args, report, options, started);
}

/**
 * A two-file diff printed as it is found: the differences come a window at a time in name
 * order (diffFilesStreamed), each rendered, written and dropped, so a million changed
 * tensors never sit in memory at once. The exit code and output are those of the whole
 * report; warnings still come before the output, the --verbose closing line after it.
 * Undefined (the caller collects every result) when the order or the output needs them all:
 * --sort-by-change-magnitude or a report file. A format without a streamed form for these
 * options (Markdown, HTML, the text review view) gathers the windows here, refusing beyond
 * MAX_GATHERED_RESULTS. Analyses and charts take runAnalysisDiff.
 */
async function streamPairDiff(args: DiffArgs, options: LibraryOptions, stop: () => void, started: number): Promise<number | undefined> {
  if (args.sortByChangeMagnitude || reportTarget(args) !== undefined) return undefined;
  const countOnly = args.quiet === true || args.brief === true;
  const renderer = await RENDERERS[outputFormat(args)]();
  const renderOptions = reportRenderOptions(args, [args.fileA, args.fileB], choosePalette(args.color, stdoutIsTerminal()), args.stats);
  let count = 0;
  return diffFilesStreamed(args.fileA, args.fileB, options, async (stream) => {
    // Once the first window is in (or none came), the progress line goes and the warnings are printed.
    let begun = false;
    const begin = () => {
      if (begun) return;
      begun = true;
      stop();
      describeModels(args, [stream.a, stream.b], options);
    };
    const counted = (async function* () {
      for await (const window of stream.windows) {
        begin();
        count += window.length;
        yield window;
      }
      begin();
    })();
    // Without a streamed form (Markdown, HTML, the review view) the differences are gathered, within MAX_GATHERED_RESULTS.
    const chunks = countOnly ? undefined : renderer.pairChunks?.({ ...stream, windows: counted }, renderOptions);
    if (!countOnly && chunks === undefined) {
      const results: DiffResult[] = [];
      for await (const window of stream.windows) {
        for (const r of window) results.push(r);
        if (results.length > MAX_GATHERED_RESULTS) throw gatheredTooMany(args.reviewFriendly ? '--review-friendly' : `-o ${outputFormat(args)}`, 'differences');
      }
      stop();
      return finishPairDiff(args, { kind: 'pair', a: stream.a, b: stream.b, results }, options, started);
    }
    if (chunks) await writeChunks(chunks, HOLD_CHARS);
    else for await (const _ of counted);
    if (args.verbose) verboseLine(true, `${count} differences in ${elapsed(started)} ms`);
    if (args.brief && !args.quiet && count > 0) await write(`${termSafe(`Files ${args.fileA} and ${args.fileB} differ`)}\n`);
    return (args.exitCode || args.quiet || args.brief) && count > 0 ? 1 : 0;
  }).finally(stop);
}

/** Warnings, verbose lines, the report and the exit code of a two-file diff (also of `diffai merge`). */
export async function finishPairDiff(args: DiffArgs, report: DiffReport, options: LibraryOptions, started: number): Promise<number> {
  const differ = reportDiffers(report);
  describeRun(args, reportModels(report), options, `${report.results.length} differences in ${elapsed(started)} ms`);
  await print(args, report, differ ? [`Files ${args.fileA} and ${args.fileB} differ`] : []);
  return (args.exitCode || args.quiet || args.brief) && differ ? 1 : 0;
}

/**
 * Two or more files with analyses, or three or more files: the report carries every
 * analysis shown; a gate (`--fail-on anomalies,deployment`) runs its analysis even when it is
 * not shown, and exits 1 when a result fails it.
 */
async function runAnalysisDiff(args: DiffArgs & AnalysisArgs, paths: string[], options: LibraryOptions, stop: () => void, started: number): Promise<number> {
  const wanted = selectedAnalyses(args);
  const gated = gatedAnalyses(args);
  const run = new Set<AnalysisName>([...wanted, ...gated]);
  // Loaded only when asked for, to keep plain diffs quick to start.
  const { diffSequence } = await import('../report/sequence.js');
  const full = await diffSequence(paths, run, { ...options, ...analysisOptions(args) }, { histograms: args.includeCharts === true }).finally(stop);
  const failed = full.analyses.filter((e) => gated.has(e.name as AnalysisName) && e.failed === true);
  const report = { ...full, analyses: full.analyses.filter((e) => wanted.has(e.name as AnalysisName)) };
  const pairs = report.kind === 'sequence' ? report.pairs : [report];
  const differences = pairs.reduce((s, p) => s + p.results.length, 0);
  describeRun(args, reportModels(report), options, `${differences} differences, ${report.analyses.length} analyses in ${elapsed(started)} ms`);
  const brief = pairs.filter((p) => p.results.length > 0).map((p) => `Files ${p.a.path} and ${p.b.path} differ`);
  for (const e of failed) brief.push(`${e.label} failed: ${e.summary}`);
  await print(args, report, brief);
  const exitOnDifference = args.exitCode || args.quiet || args.brief;
  return failed.length > 0 || (exitOnDifference && reportDiffers(report)) ? 1 : 0;
}

/** Every input that does not exist, one line each (all of them, not just the first); then exit 2. */
function reportMissing(paths: string[]): void {
  const missing = paths.filter((p) => p !== STDIN && !isRemotePath(p) && statSync(p, { throwIfNoEntry: false }) === undefined);
  if (missing.length === 0) return;
  for (const p of missing.slice(0, -1)) writeError(`${new DiffaiError(p, 'no such file').line}\n`);
  throw new DiffaiError(missing[missing.length - 1], 'no such file');
}

/** The report file when asked for, then the report in the chosen format, or with `--brief` only the given lines. */
async function print(args: DiffArgs, report: Report, briefLines: string[]): Promise<void> {
  const inputs = [args.fileA, args.fileB, ...((args as DiffArgs & AnalysisArgs).more ?? []).map(String)];
  const options = reportRenderOptions(args, inputs, choosePalette(args.color, stdoutIsTerminal()), args.stats);
  const target = reportTarget(args);
  if (target) {
    const written = await writeReport(target, report, options);
    if (!args.quiet) writeError(`diffai: ${written}\n`);
  }
  if (args.quiet) return;
  const note = chartsNote(args);
  if (note && !args.brief) writeError(`diffai: ${note}\n`);
  if (args.brief) {
    if (briefLines.length > 0) await write(briefLines.map((l) => `${termSafe(l)}\n`).join(''));
    return;
  }
  // Streamed: the differences of a many-tensor diff are printed a few thousand at a time.
  await writeChunks(await renderChunks(report, outputFormat(args), options));
}

/** Reader and filter warnings (unless quiet) and, with --verbose, one line per model, the threads and a closing line. */
function describeRun(args: DiffArgs, models: ModelDescription[], options: LibraryOptions, closing: string): void {
  describeModels(args, models, options);
  verboseLine(args.verbose, closing);
}

/** describeRun without the closing line. */
function describeModels(args: DiffArgs, models: ModelDescription[], options: LibraryOptions): void {
  for (const m of models) for (const w of m.warnings) warn(args.quiet, `${m.path}: warning: ${w}`);
  for (const w of filterWarnings(unmatchedFilters(models, options), models.length, args)) warn(args.quiet, w);
  describeKeyMaps(models, args.quiet === true, args.verbose === true);
  if (args.verbose) {
    for (const m of models) verboseLine(true, `${m.path}: ${m.format}, ${tensorColumns(m).count} tensors, ${Object.keys(m.leaves).length} other entries`);
  }
}

function elapsed(started: number): string {
  return (nowMs() - started).toFixed(1);
}
