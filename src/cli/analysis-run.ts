/**
 * `diffai A B [C …] --<analysis>`: the diff of each consecutive pair, then the analyses.
 * Two files print exactly the plain diff first, then the analysis lines (text) or append
 * one-key analysis objects to the array (JSON/YAML). Three or more files print each pair
 * under a `--- A -> B` header (text) or as `{"Diff": {a, b, differences}}` entries.
 */
import { runAnalyses } from '../analysis/analyses.js';
import { collect, type AnalysisName } from '../analysis/collect.js';
import { DiffaiError } from '../errors.js';
import { isModelDirectory, type LibraryOptions } from '../library.js';
import { analysesContract, renderAnalysesText } from '../render/analysis-text.js';
import { choosePalette } from '../render/color.js';
import { toContract } from '../render/contract.js';
import { renderJson } from '../render/json.js';
import { renderText } from '../render/text.js';
import { renderYaml } from '../render/yaml.js';
import { failOnAnomalies, selectedAnalyses, type AnalysisArgs } from './analysis-options.js';
import type { DiffArgs } from './diff-command.js';
import { verboseLine, write } from './output.js';

export async function runAnalysisDiff(args: DiffArgs & AnalysisArgs, options: LibraryOptions, stopProgress: () => void): Promise<number> {
  const started = performance.now();
  const paths = [args.fileA, args.fileB, ...(args.more ?? []).map(String)];
  for (const p of paths) if (isModelDirectory(p)) throw new DiffaiError(p, 'analyses and multi-checkpoint runs need model files, not directories');
  const wanted = selectedAnalyses(args);
  const failOn = failOnAnomalies(args);
  const run = new Set<AnalysisName>(wanted);
  if (failOn) run.add('anomalies');
  const collected = await collect(paths, { ...options, analyses: run }).finally(stopProgress);
  const all = runAnalyses(collected, run);
  const shown = all.filter((e) => e.key !== 'AnomalyDetection' || wanted.has('anomalies'));
  const anomalies = all.filter((e) => e.key === 'AnomalyDetection').reduce((s, e) => s + (e.data.findings_total as number), 0);
  const differ = collected.pairs.some((p) => p.results.length > 0);
  if (!args.quiet) for (const m of collected.models) for (const w of m.warnings) process.stderr.write(`diffai: ${m.path}: warning: ${w}\n`);
  if (args.verbose) {
    for (const m of collected.models) verboseLine(true, `${m.path}: ${m.format}, ${m.tensors.length} tensors, ${Object.keys(m.leaves).length} other entries`);
    verboseLine(true, `${collected.pairs.reduce((s, p) => s + p.results.length, 0)} differences, ${shown.length} analyses in ${(performance.now() - started).toFixed(1)} ms`);
  }
  if (!args.quiet) {
    const multi = paths.length > 2;
    if (args.brief) {
      for (const p of collected.pairs) if (p.results.length > 0) await write(`Files ${p.a.path} and ${p.b.path} differ\n`);
      if (failOn && anomalies > 0) await write(`${anomalies} anomalies found\n`);
    } else if (args.output === 'json' || args.output === 'yaml') {
      const diffs = multi
        ? collected.pairs.map((p) => ({ Diff: { a: p.a.path, b: p.b.path, differences: toContract(p.results) } }))
        : toContract(collected.pairs[0]!.results);
      const value = [...diffs, ...analysesContract(shown)];
      await write(args.output === 'json' ? renderJson(value) : await renderYaml(value));
    } else {
      const palette = choosePalette(args.color, process.stdout.isTTY === true);
      const parts: string[] = [];
      for (const p of collected.pairs) {
        if (multi) parts.push(`--- ${p.a.path} -> ${p.b.path}\n`);
        parts.push(renderText(p.results, { stats: args.stats, palette }));
      }
      parts.push(renderAnalysesText(shown));
      await write(parts.join(''));
    }
  }
  return differ || (failOn && anomalies > 0) ? 1 : 0;
}
