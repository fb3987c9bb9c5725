/**
 * The commands and the arguments they take, shared by the two parsers of the command line:
 * yargs (main.ts) and the fast path (fast-args.ts). A command's positionals are written as
 * yargs spells them (`<file>` one, `<files..>` one or more, `[more..]` any number more); its
 * options are those of the option table (options.ts) for its option set.
 */
import type { CommandName } from './options.js';

export type CommandId = 'diff' | 'inspect' | 'check' | 'textconv' | 'git-diff' | 'merge';

export interface CommandSpec {
  id: CommandId;
  /** The word that selects it; undefined for the default command (`diffai A B`). */
  word?: string;
  positionals: string;
  /** Whose options it takes in the option table. */
  options: CommandName;
}

/** In the order yargs tries them: the default command last. */
export const COMMANDS: readonly CommandSpec[] = [
  { id: 'check', word: 'check', positionals: '<files..>', options: 'diff' },
  { id: 'textconv', word: 'textconv', positionals: '<file>', options: 'inspect' },
  { id: 'git-diff', word: 'git-diff', positionals: '<gitArgs..>', options: 'diff' },
  { id: 'inspect', word: 'inspect', positionals: '<file>', options: 'inspect' },
  { id: 'merge', word: 'merge', positionals: '<parts..>', options: 'diff' },
  { id: 'diff', positionals: '<fileA> <fileB> [more..]', options: 'diff' },
];

export interface Positional {
  name: string;
  required: boolean;
  variadic: boolean;
}

/** `<fileA> <fileB> [more..]` → its positionals, in order. */
export function positionalsOf(command: CommandSpec): Positional[] {
  return command.positionals.split(' ').map((p) => ({
    name: p.slice(1, -1).replace(/\.\.$/, ''),
    required: p.startsWith('<'),
    variadic: p.endsWith('..>') || p.endsWith('..]'),
  }));
}

/** The yargs command string: `inspect <file>`, `$0 <fileA> <fileB> [more..]`. */
export function yargsUsage(command: CommandSpec): string {
  return `${command.word ?? '$0'} ${command.positionals}`;
}
