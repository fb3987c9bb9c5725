/**
 * The command line: `diffai A B` and `diffai inspect FILE`. Parses arguments, runs the
 * library, prints, and maps outcomes to exit codes: 0 same, 1 different, 2 trouble.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { DiffaiError } from '../errors.js';
import { addAnalysisOptions } from './analysis-options.js';
import { OUTPUT_FORMATS } from '../render/registry.js';
import type { DiffArgs, InspectArgs } from './args.js';
import { runDiff } from './diff-command.js';
import { runInspect } from './inspect-command.js';
import type { CheckArgs } from './check-command.js';
import type { GitDiffArgs, TextconvArgs } from './git-driver.js';
import { addInputOptions } from './input-options.js';
import { STDIN } from '../formats/input.js';

export const EXIT_SAME = 0;
export const EXIT_DIFFERENT = 1;
export const EXIT_TROUBLE = 2;

export async function main(argv: string[]): Promise<number> {
  const verbose = argv.includes('-v') || argv.includes('--verbose');
  try {
    let code = EXIT_SAME;
    argv = checkFlagAsCommand(argv).map((a) => (a === STDIN ? STDIN_ARG : a));
    await addInputOptions(yargs(argv))
      .middleware(restoreStdinArgs)
      .scriptName('diffai')
      .usage(
        '$0 A B [options]        (files, sharded checkpoints, or directories)\n$0 inspect FILE [options]\n\nCompare machine-learning model files tensor by tensor.',
      )
      .option('output', { alias: 'o', choices: OUTPUT_FORMATS, default: 'text' as const, describe: 'Output format' })
      .option('path', { type: 'string', describe: 'Only tensors and keys whose name contains this substring' })
      .option('ignore-keys-regex', { type: 'string', describe: 'Skip tensors and keys whose name matches this regular expression' })
      .option('shape-only', { type: 'boolean', default: false, describe: 'Compare headers only (names, shapes, dtypes); read no tensor data' })
      .option('color', { type: 'boolean', describe: 'Colour text output (default: only on a terminal; NO_COLOR and FORCE_COLOR honoured)' })
      .option('threads', { type: 'number', describe: 'Engine threads (default: half the available cores; each also keeps a core busy reading)' })
      .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'Timing and file details on stderr; stack traces on errors' })
      .option('check', { type: 'boolean', describe: 'diffai --check FILE…: validate files fully and report pickles that would run code (as `diffai check`)' })
      .command(
        'check <files..>',
        'Validate each file fully (every size, every tensor read) and say whether torch.load(weights_only=False) would run code; exit 0 when all are valid and safe, 2 otherwise',
        (y) => y.positional('files', { type: 'string', array: true, demandOption: true }),
        async (args) => {
          code = await (await import('./check-command.js')).runCheck(args as unknown as CheckArgs);
        },
      )
      .command(
        'textconv <file>',
        'One model as text, for git: diff.<driver>.textconv (README "Git")',
        (y) => y.positional('file', { type: 'string', demandOption: true }),
        async (args) => {
          code = await (await import('./git-driver.js')).runTextconv(args as unknown as TextconvArgs);
        },
      )
      .command(
        'git-diff <gitArgs..>',
        "Git's external diff protocol (GIT_EXTERNAL_DIFF or diff.<driver>.command): path old-file old-hex old-mode new-file new-hex new-mode",
        (y) =>
          y
            .positional('gitArgs', { type: 'string', array: true, demandOption: true })
            .option('epsilon', { type: 'number', default: 0, describe: 'Values within this absolute difference count as equal' })
            .option('stats', { type: 'boolean', default: false, describe: 'Also show min and max on changed-value lines' }),
        async (args) => {
          code = await (await import('./git-driver.js')).runGitDiff(args as unknown as GitDiffArgs);
        },
      )
      .command(
        'inspect <file>',
        'Statistics of every tensor in one file (exit 2 if the file is invalid)',
        (y) => y.positional('file', { type: 'string', demandOption: true }),
        async (args) => {
          code = await runInspect(args as unknown as InspectArgs);
        },
      )
      .command(
        '$0 <fileA> <fileB> [more..]',
        'Compare two model files (or a sequence of checkpoints, pair by pair)',
        (y) =>
          addAnalysisOptions(y)
            .positional('fileA', { type: 'string', demandOption: true })
            .positional('fileB', { type: 'string', demandOption: true })
            .option('epsilon', { type: 'number', default: 0, describe: 'Values within this absolute difference count as equal' })
            .option('stats', { type: 'boolean', default: false, describe: 'Also show min and max on changed-value lines' })
            .option('sort-by-change-magnitude', { type: 'boolean', default: false, describe: 'Order changed tensors by relative L2 change, largest first' })
            .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'Print nothing; only the exit code tells' })
            .option('recursive', {
              alias: 'r',
              type: 'boolean',
              default: false,
              describe: 'Directories are always compared recursively (accepted for compatibility)',
            })
            .option('brief', { type: 'boolean', default: false, describe: 'Only say whether the files differ' }),
        async (args) => {
          code = await runDiff(args as unknown as DiffArgs);
        },
      )
      .strict()
      .help()
      .alias('h', 'help')
      .version()
      .wrap(Math.min(100, process.stdout.columns || 100))
      .check((argv) => {
        const threads = argv.threads as number | undefined;
        if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1))
          throw new DiffaiError(undefined, `--threads must be a positive integer, got ${threads}`);
        return true;
      })
      .fail((message, error) => {
        if (error instanceof DiffaiError) throw error;
        if (message) throw new DiffaiError(undefined, `${message.replace(/\s*\n\s*/g, ' ')} (see diffai --help)`);
        throw error;
      })
      .parseAsync();
    return code;
  } catch (e) {
    if (e instanceof DiffaiError) {
      process.stderr.write(`${e.line}\n`);
      if (verbose && e.stack) process.stderr.write(`${e.stack}\n`);
      return EXIT_TROUBLE;
    }
    const err = e as Error;
    process.stderr.write(`diffai: internal error: ${err?.message ?? String(e)}\n`);
    if (verbose && err?.stack) process.stderr.write(`${err.stack}\n`);
    return EXIT_TROUBLE;
  }
}

// yargs turns a lone `-` into an empty string: it is carried through parsing as a NUL-led
// stand-in (no real argument can hold NUL) and restored before any command runs.
const STDIN_ARG = '\0-';

function restoreStdinArgs(args: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(args)) {
    if (v === STDIN_ARG) args[k] = STDIN;
    else if (Array.isArray(v)) args[k] = v.map((x) => (x === STDIN_ARG ? STDIN : x));
  }
}

/** `diffai --check A B` is `diffai check A B` (the documents' spelling). */
function checkFlagAsCommand(argv: string[]): string[] {
  const end = argv.indexOf('--');
  const at = argv.indexOf('--check');
  if (at < 0 || (end >= 0 && at > end)) return argv;
  return ['check', ...argv.slice(0, at), ...argv.slice(at + 1)];
}

export function parseArgs(): string[] {
  return hideBin(process.argv);
}
