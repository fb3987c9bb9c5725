/**
 * The report options both commands share: `--markdown-output`, `--generate-report [FILE]`,
 * `--include-charts`, `--review-friendly`; what they mean for rendering, and writing the
 * report file (HTML or Markdown chosen by its extension, Markdown charts as SVG files in a
 * folder beside it).
 */
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { DiffaiError } from '../errors.js';
import type { Palette } from '../render/color.js';
import { type OutputFormat, render, type RenderOptions } from '../render/registry.js';
import type { Report } from '../report/types.js';
import { toolVersion } from './version.js';

export interface ReportArgs {
  output: OutputFormat;
  markdownOutput?: boolean;
  /** The file to write; '' when the flag was given without one. */
  generateReport?: string;
  includeCharts?: boolean;
  reviewFriendly?: boolean;
  /** The command line as given (set by main). */
  argv?: string[];
}

/** Where `--generate-report` writes when given no file name (Markdown with --markdown-output / -o markdown). */
export const DEFAULT_REPORT = 'diffai-report.html';
export const DEFAULT_MARKDOWN_REPORT = 'diffai-report.md';

const REPORT_FORMATS: Record<string, OutputFormat> = {
  '.html': 'html',
  '.htm': 'html',
  '.md': 'markdown',
  '.markdown': 'markdown',
  '.json': 'json',
  '.yaml': 'yaml',
  '.yml': 'yaml',
  '.txt': 'text',
};

/** The stdout format: `--markdown-output` means `--output markdown`. */
export function outputFormat(args: ReportArgs): OutputFormat {
  return args.markdownOutput ? 'markdown' : args.output;
}

/** Why charts asked for will not appear on stdout (Markdown charts are files beside a report file). */
export function chartsNote(args: ReportArgs): string | undefined {
  return args.includeCharts && outputFormat(args) === 'markdown' && args.generateReport === undefined
    ? 'charts in Markdown are SVG files beside the report: add --generate-report FILE.md to write them'
    : undefined;
}

/** The report file and its format, checked before any work is done. */
export function reportTarget(args: ReportArgs): { file: string; format: OutputFormat } | undefined {
  if (args.generateReport === undefined) return undefined;
  const file = args.generateReport !== '' ? args.generateReport : outputFormat(args) === 'markdown' ? DEFAULT_MARKDOWN_REPORT : DEFAULT_REPORT;
  const format = REPORT_FORMATS[extname(file).toLowerCase()];
  if (!format) throw new DiffaiError(file, `--generate-report: cannot tell the format from the extension (use .html or .md; also .json, .yaml, .txt)`);
  return { file, format };
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Render options from the arguments; `inputs` are the paths whose sizes the report header shows. */
export function reportRenderOptions(args: ReportArgs, inputs: string[], palette: Palette, stats = false): RenderOptions {
  const sizes: Record<string, number> = {};
  for (const p of inputs) {
    const st = statSync(p, { throwIfNoEntry: false });
    if (st?.isFile()) sizes[p] = st.size;
  }
  return {
    palette,
    stats,
    charts: args.includeCharts === true,
    review: args.reviewFriendly === true,
    meta: { command: ['diffai', ...(args.argv ?? []).map(quote)].join(' '), version: toolVersion(), sizes },
  };
}

/** Writes the report file; Markdown charts go to `<name>_charts/` beside it. Returns a note for stderr. */
export async function writeReport(target: { file: string; format: OutputFormat }, report: Report, options: RenderOptions): Promise<string> {
  let charts = 0;
  const chartDir = `${basename(target.file, extname(target.file))}_charts`;
  const asset = (name: string, content: string) => {
    mkdirSync(join(dirname(target.file), chartDir), { recursive: true });
    writeFileSync(join(dirname(target.file), chartDir, name), content);
    charts++;
    return `${chartDir}/${name}`;
  };
  try {
    const text = await render(report, target.format, { ...options, palette: undefined, asset: target.format === 'markdown' ? asset : undefined });
    writeFileSync(target.file, text);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === undefined) throw e;
    throw new DiffaiError(target.file, `cannot write the report (${code})`);
  }
  return `report written to ${target.file}${charts > 0 ? ` (${charts} charts in ${join(dirname(target.file), chartDir)})` : ''}`;
}
