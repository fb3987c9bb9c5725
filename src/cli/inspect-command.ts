import { inspectFile } from '../library.js';
import { choosePalette } from '../render/color.js';
import { render } from '../render/registry.js';
import { compileRegex, type InspectArgs } from './args.js';
import { verboseLine, write } from './output.js';
import { createProgress } from './progress.js';
import { loadOptionsFrom, type InputArgs } from './input-options.js';

export async function runInspect(args: InspectArgs): Promise<number> {
  const started = performance.now();
  const progress = createProgress(true);
  const report = await inspectFile(args.file, {
    path: args.path,
    ignoreKeysRegex: compileRegex(args.ignoreKeysRegex),
    shapeOnly: args.shapeOnly,
    ...loadOptionsFrom(args as InspectArgs & InputArgs),
    threads: args.threads,
    onTotalBytes: (n) => progress.setTotal(n),
    onBytes: (n) => progress.add(n),
  }).finally(() => progress.stop());
  verboseLine(args.verbose, `${args.file}: ${report.tensors.length} tensors in ${(performance.now() - started).toFixed(1)} ms`);
  await write(await render(report, args.output, { palette: choosePalette(args.color, process.stdout.isTTY === true) }));
  return 0;
}
