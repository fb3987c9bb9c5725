/** `diffai inspect FILE`: statistics of every tensor, in the `--output` format; exit 0, or 2 for an invalid file. */
import { inspectFile } from '../library.js';
import { choosePalette } from '../render/color.js';
import { RENDERERS, renderChunks } from '../render/registry.js';
import { MAX_GATHERED_RESULTS, gatheredTooMany } from './gather-limit.js';
import { inspectRows } from '../report/inspect-rows.js';
import { compileRegex, parseThreads, type InspectArgs } from './args.js';
import { filterWarnings } from './filter-warnings.js';
import { chartsNote, outputFormat, reportRenderOptions, reportTarget, writeReport } from './report-options.js';
import { verboseLine, warn, writeChunks, writeError, stdoutIsTerminal } from './output.js';
import { createProgress } from './progress.js';
import { loadOptionsFrom, type InputArgs } from './input-options.js';
import { nowMs } from './clock.js';
import { startEngineEarly } from './kernels-early.js';

export async function runInspect(args: InspectArgs): Promise<number> {
  const target = reportTarget(args);
  const started = nowMs();
  const threads = parseThreads(args.threads, (line) => warn(false, line));
  const progress = createProgress(true);
  const filters = { path: args.path, ignoreKeysRegex: compileRegex(args.ignoreKeysRegex) };
  if (!args.shapeOnly) startEngineEarly([args.file], threads);
  const report = await inspectFile(args.file, {
    ...filters,
    shapeOnly: args.shapeOnly,
    ...loadOptionsFrom(args as InspectArgs & InputArgs),
    threads,
    onTotalBytes: (n) => progress.setTotal(n),
    onBytes: (n) => progress.add(n),
  }).finally(() => progress.stop());
  for (const w of filterWarnings(report.unmatchedFilters ?? [], 1, args)) warn(false, w);
  verboseLine(args.verbose, `${args.file}: ${inspectRows(report).count} tensors in ${(nowMs() - started).toFixed(1)} ms`);
  const options = reportRenderOptions(args, [args.file], choosePalette(args.color, stdoutIsTerminal()));
  if (target) writeError(`diffai: ${await writeReport(target, report, options)}\n`);
  const note = chartsNote(args);
  if (note) writeError(`diffai: ${note}\n`);
  // Streamed: a million-tensor inspection is printed a few hundred rows at a time; formats
  // without a streamed form build the whole document, within a bound.
  const format = outputFormat(args);
  if ((await RENDERERS[format]()).chunks?.(report, options) === undefined && inspectRows(report).count > MAX_GATHERED_RESULTS) {
    throw gatheredTooMany(`-o ${format}`, 'tensors');
  }
  await writeChunks(await renderChunks(report, format, options));
  return 0;
}
