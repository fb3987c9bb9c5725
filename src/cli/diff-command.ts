import { DiffaiError } from '../errors.js';
import { diffDirectories, diffFiles, isModelDirectory, type DirectoryDiffReport, type LibraryOptions } from '../library.js';
import { choosePalette } from '../render/color.js';
import { toContract } from '../render/contract.js';
import { renderJson } from '../render/json.js';
import { renderText } from '../render/text.js';
import { renderYaml } from '../render/yaml.js';
import { wantsAnalysis, type AnalysisArgs } from './analysis-options.js';
import { verboseLine, write } from './output.js';
import { createProgress } from './progress.js';

export interface DiffArgs {
  fileA: string;
  fileB: string;
  output: 'text' | 'json' | 'yaml';
  epsilon: number;
  path?: string;
  ignoreKeysRegex?: string;
  shapeOnly: boolean;
  stats: boolean;
  sortByChangeMagnitude: boolean;
  quiet: boolean;
  brief: boolean;
  color?: boolean;
  verbose: boolean;
  threads?: number;
}

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
  const analysisArgs = args as DiffArgs & AnalysisArgs;
  if (wantsAnalysis(analysisArgs)) {
    // Loaded only when asked for, to keep plain diffs quick to start.
    const { runAnalysisDiff } = await import('./analysis-run.js');
    return runAnalysisDiff(analysisArgs, options, () => progress.stop());
  }
  const dirA = isModelDirectory(args.fileA);
  const dirB = isModelDirectory(args.fileB);
  if (dirA !== dirB) {
    const dir = dirA ? args.fileA : args.fileB;
    throw new DiffaiError(dir, 'is a directory but the other argument is a file (give two directories or two model files)');
  }
  if (dirA) {
    const dirs = await diffDirectories(args.fileA, args.fileB, options).finally(() => progress.stop());
    return printDirectoryDiff(args, dirs);
  }
  const report = await diffFiles(args.fileA, args.fileB, options).finally(() => progress.stop());
  const differ = report.results.length > 0;
  if (!args.quiet) for (const m of [report.a, report.b]) for (const w of m.warnings) process.stderr.write(`diffai: ${m.path}: warning: ${w}\n`);
  if (args.verbose) {
    for (const m of [report.a, report.b]) verboseLine(true, `${m.path}: ${m.format}, ${m.tensors.length} tensors, ${Object.keys(m.leaves).length} other entries`);
    verboseLine(true, `${report.results.length} differences in ${(performance.now() - started).toFixed(1)} ms`);
  }
  if (!args.quiet) {
    if (args.brief) {
      if (differ) await write(`Files ${args.fileA} and ${args.fileB} differ\n`);
    } else if (args.output === 'json') {
      await write(renderJson(toContract(report.results)));
    } else if (args.output === 'yaml') {
      await write(await renderYaml(toContract(report.results)));
    } else {
      await write(renderText(report.results, { stats: args.stats, palette: choosePalette(args.color, process.stdout.isTTY === true) }));
    }
  }
  return differ ? 1 : 0;
}

async function printDirectoryDiff(args: DiffArgs, report: DirectoryDiffReport): Promise<number> {
  const differ = report.files.some((f) => f.status !== 'identical');
  if (args.quiet) return differ ? 1 : 0;
  if (args.brief) {
    if (differ) await write(`Directories ${args.fileA} and ${args.fileB} differ\n`);
  } else if (args.output === 'json' || args.output === 'yaml') {
    const value = report.files.map((f) => ({ file: f.file, status: f.status, differences: toContract(f.results) }));
    await write(args.output === 'json' ? renderJson(value) : await renderYaml(value));
  } else {
    const palette = choosePalette(args.color, process.stdout.isTTY === true);
    const lines: string[] = [];
    for (const f of report.files) {
      if (f.status === 'only_in_a') lines.push(palette.removed(`Only in ${args.fileA}: ${f.file}`));
      else if (f.status === 'only_in_b') lines.push(palette.added(`Only in ${args.fileB}: ${f.file}`));
      else if (f.status === 'modified') lines.push(`--- ${f.file}`, renderText(f.results, { stats: args.stats, palette }).trimEnd());
    }
    await write(lines.length > 0 ? lines.join('\n') + '\n' : renderText([]));
  }
  return differ ? 1 : 0;
}

export function compileRegex(source: string | undefined): RegExp | undefined {
  if (source === undefined) return undefined;
  try {
    return new RegExp(source);
  } catch (e) {
    throw new DiffaiError(undefined, `--ignore-keys-regex: ${(e as Error).message}`);
  }
}
