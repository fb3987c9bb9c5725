import { inspectFile } from '../library.js';
import { choosePalette } from '../render/color.js';
import { renderInspectText } from '../render/inspect.js';
import { renderJson } from '../render/json.js';
import { renderYaml } from '../render/yaml.js';
import { compileRegex } from './diff-command.js';
import { verboseLine, write } from './output.js';
import { createProgress } from './progress.js';

export interface InspectArgs {
  file: string;
  output: 'text' | 'json' | 'yaml';
  path?: string;
  ignoreKeysRegex?: string;
  shapeOnly: boolean;
  color?: boolean;
  verbose: boolean;
  threads?: number;
}

export async function runInspect(args: InspectArgs): Promise<number> {
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
  if (args.output === 'json' || args.output === 'yaml') {
    const { warnings, ...body } = report;
    const value = warnings.length > 0 ? { ...body, warnings } : body;
    await write(args.output === 'json' ? renderJson(value) : await renderYaml(value));
  } else {
    await write(renderInspectText(report, choosePalette(args.color, process.stdout.isTTY === true)));
  }
  return 0;
}
