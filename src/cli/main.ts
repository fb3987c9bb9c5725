/**
 * The command line: `diffai A B` and `diffai inspect FILE`. Checks the options (option-check),
 * answers --help and --version, parses with yargs from the option table (options.ts), runs
 * the command, and maps outcomes to exit codes as git diff does: 0 the comparison ran, 1 a
 * difference under --exit-code (or a failed gate), 2 trouble.
 */
import { readFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { DiffaiError } from '../errors.js';
import { termSafe } from '../terminal.js';
import type { DiffArgs, InspectArgs } from './args.js';
import { finishPairDiff, runDiff } from './diff-command.js';
import { loadOptionsFrom } from './input-options.js';
import { type MergeArgs, PARTIALS } from './partition-command.js';
import { helpText, helpWidth } from './help.js';
import { runInspect } from './inspect-command.js';
import { summarizeArgv } from './option-check.js';
import { type CommandName, optionsFor } from './options.js';
import { COMMANDS, type CommandId, positionalsOf, yargsUsage } from './commands.js';
import { fastParse, type ParsedArgs, type ParsedCommand } from './fast-args.js';
import { write, writeError } from './output.js';
import type { CheckArgs } from './check-command.js';
import type { GitDiffArgs, TextconvArgs } from './git-driver.js';
import { STDIN } from '../formats/input.js';
import { nowMs } from './clock.js';
import { releaseSpareWorkers } from './kernels-early.js';

// The command line (bin/diffai.js) writes results straight to file descriptor 1.
export { writeStdoutDirectly } from './output.js';

export const EXIT_OK = 0;
export const EXIT_DIFFERENT = 1;
export const EXIT_TROUBLE = 2;

/**
 * diffai's own version: from the nearest package.json named diffai above this module (dist/
 * when installed, src/ in a checkout), never the one of the project it is used in.
 */
export function version(): string {
  for (let url = new URL('.', import.meta.url); url.pathname !== '/'; url = new URL('..', url)) {
    const pkg = readPackage(new URL('package.json', url));
    if (pkg?.name === 'diffai' && typeof pkg.version === 'string') return pkg.version;
  }
  throw new DiffaiError(undefined, "cannot find diffai's package.json");
}

function readPackage(url: URL): { name?: string; version?: string } | undefined {
  try {
    return JSON.parse(readFileSync(url, 'utf8')) as { name?: string; version?: string };
  } catch {
    return undefined;
  }
}

export async function main(argv: string[]): Promise<number> {
  const verbose = argv.includes('-v') || argv.includes('--verbose');
  try {
    const { command, help, version: wantsVersion } = summarizeArgv(argv);
    if (help) {
      await write(helpText(command, helpWidth()));
      return EXIT_OK;
    }
    if (wantsVersion) {
      await write(`${version()}\n`);
      return EXIT_OK;
    }
    argv = checkFlagAsCommand(argv);
    // Common lines skip loading yargs (start-up time, fast-args.ts); yargs parses the rest.
    const parsed = fastParse(argv) ?? (await parseWithYargs(argv));
    if (parsed.args.output === PARTIALS && parsed.command !== 'diff' && parsed.command !== 'merge')
      throw new DiffaiError(undefined, `-o ${PARTIALS} is the output of partitioned runs (diffai A B --partition K/N -o ${PARTIALS})`);
    return await RUNNERS[parsed.command](parsed.args, argv);
  } catch (e) {
    if (e instanceof DiffaiError) {
      writeError(`${e.line}\n`);
      if (verbose && e.stack) writeError(`${stackLines(e.stack)}\n`);
      return EXIT_TROUBLE;
    }
    const err = e as Error;
    writeError(`${termSafe(`diffai: internal error: ${err?.message ?? String(e)}`)}\n`);
    if (verbose && err?.stack) writeError(`${stackLines(err.stack)}\n`);
    return EXIT_TROUBLE;
  } finally {
    // Workers started for a pool the run did not make (kernels-early.ts).
    await releaseSpareWorkers();
  }
}

/** A stack trace (--verbose) with each of its lines escaped for the terminal. */
function stackLines(stack: string): string {
  return stack.split('\n').map(termSafe).join('\n');
}

type Runner = (args: ParsedArgs, argv: string[]) => Promise<number>;

/** What runs each command (commands.ts declares their arguments); rarer ones load on first use. */
const RUNNERS: Record<CommandId, Runner> = {
  diff: (args, argv) => runDiff({ ...(args as unknown as DiffArgs), argv }),
  inspect: (args, argv) => runInspect({ ...(args as unknown as InspectArgs), argv }),
  check: async (args) => (await import('./check-command.js')).runCheck(args as unknown as CheckArgs),
  textconv: async (args) => (await import('./git-driver.js')).runTextconv(args as unknown as TextconvArgs),
  'git-diff': async (args) => (await import('./git-driver.js')).runGitDiff(args as unknown as GitDiffArgs),
  merge: async (args, argv) => {
    const started = nowMs();
    const merged = await (await import('./partition-command.js')).mergeReport({ ...(args as unknown as MergeArgs), argv });
    return finishPairDiff(merged.args, merged.report, loadOptionsFrom(merged.args), started);
  },
};

/**
 * The command line as yargs reads it with the option table (options.ts) and the commands
 * (commands.ts): the definition the fast path (fast-args.ts) must agree with. Help and the
 * version were answered before parsing; a mistake throws a DiffaiError.
 */
export async function parseWithYargs(argv: string[]): Promise<ParsedCommand> {
  const { default: yargs } = await import('yargs');
  let parsed: ParsedCommand | undefined;
  let y = yargs(argv.map((a) => (a === STDIN ? STDIN_ARG : a)))
    .middleware(restoreStdinArgs)
    .scriptName('diffai')
    .help(false)
    .version(false);
  for (const command of COMMANDS) {
    y = y.command(
      yargsUsage(command),
      false,
      (c) => {
        let out = withOptions(c, command.options);
        for (const p of positionalsOf(command)) out = out.positional(p.name, { type: 'string', array: p.variadic, demandOption: p.required });
        return out;
      },
      (args) => {
        parsed = { command: command.id, args: args as ParsedArgs };
      },
    );
  }
  await y
    .strict()
    .fail((message, error) => {
      if (error instanceof DiffaiError) throw error;
      if (message) throw new DiffaiError(undefined, `${message.replace(/\s*\n\s*/g, ' ')} (see diffai --help)`);
      throw error;
    })
    .parseAsync();
  if (!parsed) throw new DiffaiError(undefined, 'no command to run (see diffai --help)');
  return parsed;
}

/** The command's options from the table; help and version were answered before parsing. */
function withOptions<T>(y: Argv<T>, command: CommandName): Argv<T> {
  let out = y as Argv<unknown>;
  for (const o of optionsFor(command)) {
    if (o.name === 'help' || o.name === 'version') continue;
    out = out.option(o.name, {
      alias: o.alias,
      type: o.type,
      array: o.array,
      choices: o.choices as string[] | undefined,
      ...(o.default !== undefined ? { default: o.default } : {}),
    });
  }
  return out as Argv<T>;
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

/** The arguments after `node script` (what yargs' hideBin gives under Node, without loading yargs). */
export function parseArgs(): string[] {
  return process.argv.slice(2);
}
