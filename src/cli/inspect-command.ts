import { inspectFile } from '../library.js';
import { choosePalette } from '../render/color.js';
import { renderInspectText } from '../render/inspect.js';
import { renderJson } from '../render/json.js';
import { renderYaml } from '../render/yaml.js';
import { compileRegex } from './diff-command.js';
import { verboseLine, write } from './output.js';

export interface InspectArgs {
  file: string;
  output: 'text' | 'json' | 'yaml';
  path?: string;
  ignoreKeysRegex?: string;
  shapeOnly: boolean;
  color?: boolean;
  verbose: boolean;
}

export async function runInspect(args: InspectArgs): Promise<number> {
  const started = performance.now();
  const report = await inspectFile(args.file, { path: args.path, ignoreKeysRegex: compileRegex(args.ignoreKeysRegex), shapeOnly: args.shapeOnly });
  verboseLine(args.verbose, `${args.file}: ${report.tensors.length} tensors in ${(performance.now() - started).toFixed(1)} ms`);
  if (args.output === 'json' || args.output === 'yaml') {
    const { warnings, ...body } = report;
    const value = warnings.length > 0 ? { ...body, warnings } : body;
    await write(args.output === 'json' ? renderJson(value) : renderYaml(value));
  } else {
    await write(renderInspectText(report, choosePalette(args.color, process.stdout.isTTY === true)));
  }
  return 0;
}
