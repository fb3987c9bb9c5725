/**
 * `diffai check FILE…` (also `diffai --check FILE…`): validates each file fully — its
 * structure and every tensor's bytes, read through the engine — and says whether loading it
 * with `torch.load(weights_only=False)` would import or call anything outside the allow-list
 * (the unpickler's verdict: docs/pytorch-safety.md). Exit 0 when every file is valid and
 * safe, 2 otherwise. One line per file on stdout (or a JSON/YAML array).
 */
import { DiffaiError, UnsafePickleError } from '../errors.js';
import { inspectDescribed } from '../library.js';
import { inspectRows } from '../report/inspect-rows.js';
import { withModels } from '../load.js';
import type { OutputFormat } from '../render/registry.js';
import { renderJson } from '../render/json.js';
import type { InputArgs } from './input-options.js';
import { warn, write, writeError } from './output.js';
import { createProgress } from './progress.js';
import { briefText, termSafe } from '../terminal.js';

export interface CheckArgs extends InputArgs {
  files: string[];
  output: OutputFormat;
  threads?: number;
  quiet?: boolean;
}

/** The verdict on one file (the JSON object of `--check -o json`). */
export interface CheckResult {
  file: string;
  format: string | null;
  /** Every size consistent and every tensor byte readable. */
  valid: boolean;
  /** Loading it with torch.load(weights_only=False) would run no code outside the allow-list (null: unknown, the file is invalid). */
  safe: boolean | null;
  tensors: number;
  /** Tensor bytes read (each storage once). */
  bytes_checked: number;
  /** Globals torch.load(weights_only=False) would import or call that are outside the allow-list. */
  unsafe_globals: string[];
  problem: string | null;
  warnings: string[];
}

export async function checkFile(file: string, args: CheckArgs): Promise<CheckResult> {
  const result: CheckResult = { file, format: null, valid: false, safe: null, tensors: 0, bytes_checked: 0, unsafe_globals: [], problem: null, warnings: [] };
  const progress = createProgress(!args.quiet);
  try {
    await withModels([file], { format: args.format }, async ([model]) => {
      result.format = model!.format;
      const unlisted = model!.unlistedClasses ?? [];
      const report = await inspectDescribed(model!, {
        threads: args.threads,
        onTotalBytes: (n) => {
          result.bytes_checked = n;
          progress.setTotal(n);
        },
        onBytes: (n) => progress.add(n),
      });
      result.valid = true;
      result.tensors = inspectRows(report).count;
      result.warnings = report.warnings;
      result.unsafe_globals = unlisted;
      result.safe = unlisted.length === 0;
      if (!result.safe) {
        result.problem = `torch.load(weights_only=False) would import and instantiate ${unlisted.join(', ')}, outside the allow-list (their modules' code and __setstate__ run; weights_only=True refuses the file)`;
      }
    });
  } catch (e) {
    if (!(e instanceof DiffaiError)) throw e;
    result.problem = e.message;
    if (e instanceof UnsafePickleError) {
      result.unsafe_globals = e.globals;
      result.problem = `torch.load(weights_only=False) would run ${e.globals.join(', ')}: ${e.message}`;
    }
    result.valid = false;
    result.safe = e instanceof UnsafePickleError ? false : null;
  } finally {
    progress.stop();
  }
  return result;
}

/** `path: OK (…)`, `path: UNSAFE: …` or `path: INVALID: …`. */
export function checkLine(r: CheckResult): string {
  if (r.valid && r.safe) return `${r.file}: OK (${r.format}, ${r.tensors} tensors, ${r.bytes_checked} bytes read)`;
  if (r.unsafe_globals.length > 0) return `${r.file}: UNSAFE: ${r.problem}`;
  return `${r.file}: INVALID: ${r.problem}`;
}

export async function runCheck(args: CheckArgs): Promise<number> {
  if (args.files.length === 0) throw new DiffaiError(undefined, '--check: give one or more files');
  const results: CheckResult[] = [];
  for (const f of args.files) results.push(await checkFile(String(f), args));
  const failed = results.filter((r) => !(r.valid && r.safe === true)).length;
  if (!args.quiet) {
    if (args.output === 'json') await write(renderJson(results));
    else if (args.output === 'yaml') await write((await import('js-yaml')).dump(results, { lineWidth: -1 }));
    else await write(results.map((r) => `${termSafe(briefText(checkLine(r), 4000))}\n`).join(''));
    for (const r of results) for (const w of r.warnings) warn(false, `${r.file}: warning: ${w}`);
    if (failed > 0 && results.length > 1) writeError(`diffai: ${failed} of ${results.length} files failed the check\n`);
  }
  return failed > 0 ? 2 : 0;
}
