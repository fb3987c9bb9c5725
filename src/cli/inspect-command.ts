import { inspectFile } from '../library.js';
import { choosePalette } from '../render/color.js';
import { render } from '../render/registry.js';
import { compileRegex, type InspectArgs } from './args.js';
import { chartsNote, outputFormat, reportRenderOptions, reportTarget, writeReport } from './report-options.js';
import { verboseLine, write } from './output.js';
import { createProgress } from './progress.js';

export async function runInspect(args: InspectArgs): Promise<number> {
  const target = reportTarget(args);
  const started = performance.now();
  const progress = createProgress(true);
  const report = await inspectFile(args.file, {
    path: args.path,
    ignoreKeysRegex: compileRegex(args.ignoreKeysRegex),
    shapeOnly: args.shapeOnly,
    threads: args.threads,
    onTotalBytes: (n) => progress.setTotal(n),
    onBytes: (n) => progress.add(n),
  }).finally(() => progress.stop());
  verboseLine(args.verbose, `${args.file}: ${report.tensors.length} tensors in ${(performance.now() - started).toFixed(1)} ms`);
  const options = reportRenderOptions(args, [args.file], choosePalette(args.color, process.stdout.isTTY === true));
  if (target) process.stderr.write(`diffai: ${await writeReport(target, report, options)}\n`);
  const note = chartsNote(args);
  if (note) process.stderr.write(`diffai: ${note}\n`);
  await write(await render(report, outputFormat(args), options));
  return 0;
}
