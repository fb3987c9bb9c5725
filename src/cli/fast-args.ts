/**
 * The command line without yargs, whose loading and parsing cost about as much as starting
 * Node itself. It reads the same option table (options.ts) and commands (commands.ts) that
 * main.ts hands to yargs, and takes only lines whose reading is unambiguous: options spelled
 * `--name`, `--no-name`, `-x` or `--name=value` (a single value), each given once (an array
 * option any number of times), values
 * that do not start with `-`, the right number of positionals. For those it builds exactly
 * the object yargs builds (every spelling of each key, the defaults, `_` and `$0`); anything
 * else returns undefined and goes to yargs. test/fast_args.test.ts checks the two parsers
 * against each other on lines generated from the option table.
 */
import { COMMANDS, type CommandId, type CommandSpec, positionalsOf } from './commands.js';
import { OPTION_GROUPS, type OptionSpec, optionsFor } from './options.js';

export type ParsedArgs = Record<string, unknown>;

export interface ParsedCommand {
  command: CommandId;
  args: ParsedArgs;
}

/** Every option of the table by each spelling that names it: `name`, `no-name`, the alias. */
const BY_SPELLING = new Map<string, { spec: OptionSpec; negated: boolean }>();
for (const spec of OPTION_GROUPS.flatMap((g) => g.options)) {
  BY_SPELLING.set(spec.name, { spec, negated: false });
  if (spec.type === 'boolean') BY_SPELLING.set(`no-${spec.name}`, { spec, negated: true });
  if (spec.alias) BY_SPELLING.set(spec.alias, { spec, negated: false });
}

/** The parsed command, or undefined when the line is left to yargs. */
export function fastParse(argv: string[]): ParsedCommand | undefined {
  const positionals: string[] = [];
  const given = new Map<OptionSpec, unknown>();
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (isPlain(token)) {
      // yargs may read "true"/"false" after a boolean flag as its value.
      if (token === 'true' || token === 'false') return undefined;
      positionals.push(token);
      continue;
    }
    const m = /^(?:--([a-z][a-z0-9-]*)(?:=(.*))?|-([a-zA-Z]))$/s.exec(token);
    if (!m) return undefined; // `--`, clusters such as -qv, numbers, odd spellings
    const found = BY_SPELLING.get(m[1] ?? m[3]!);
    if (!found || found.spec.name === 'help' || found.spec.name === 'version') return undefined;
    const { spec, negated } = found;
    if (given.has(spec) && !spec.array) return undefined; // yargs would make an array of it
    const inline = m[2];
    if (spec.type === 'boolean') {
      if (inline !== undefined) return undefined;
      given.set(spec, !negated);
      continue;
    }
    // A string option: its value inline or the next argument (an array option takes every
    // following argument up to the next option, as yargs does).
    const values: string[] = [];
    if (inline !== undefined) {
      if (spec.array) return undefined;
      values.push(inline);
    } else {
      while (i + 1 < argv.length && isPlain(argv[i + 1]!)) {
        values.push(argv[++i]!);
        if (!spec.array) break;
      }
    }
    if (values.length === 0 || values.some((v) => v === '' || v === 'true' || v === 'false')) return undefined;
    if (spec.choices && !values.every((v) => spec.choices!.includes(v))) return undefined;
    given.set(spec, spec.array ? [...((given.get(spec) as string[] | undefined) ?? []), ...values] : values[0]);
  }
  const command = commandOf(argv[0]);
  // yargs finds the command word before it knows the options (an option in front of it may
  // take it as a value): a command word anywhere but first is left to yargs.
  if (positionals.some((p, k) => (k > 0 || !command.word) && COMMANDS.some((c) => c.word === p))) return undefined;
  const options = new Set(optionsFor(command.options));
  const args: ParsedArgs = { _: command.word ? [command.word] : [], $0: 'diffai' };
  for (const spec of options) {
    if (spec.default !== undefined) setOption(args, spec, spec.default);
  }
  for (const [spec, value] of given) {
    if (!options.has(spec)) return undefined;
    setOption(args, spec, value);
  }
  return setPositionals(args, command, command.word ? positionals.slice(1) : positionals) ? { command: command.id, args } : undefined;
}

/** Not an option: `-` (standard input) counts as a plain argument, as main.ts shows it to yargs. */
function isPlain(token: string): boolean {
  return token === '-' || !token.startsWith('-');
}

/** The command the first argument names, else the default one (`diffai A B`). */
function commandOf(first: string | undefined): CommandSpec {
  return COMMANDS.find((c) => c.word !== undefined && c.word === first) ?? COMMANDS.find((c) => c.word === undefined)!;
}

/** Sets the positionals by name; false when their number does not fit the command. */
function setPositionals(args: ParsedArgs, command: CommandSpec, values: string[]): boolean {
  const slots = positionalsOf(command);
  let at = 0;
  for (const [k, slot] of slots.entries()) {
    let value: string | string[];
    if (slot.variadic) {
      if (k !== slots.length - 1) return false;
      value = values.slice(at);
      at = values.length;
      if (slot.required && value.length === 0) return false;
    } else {
      if (at >= values.length) return false;
      value = values[at++]!;
    }
    setKey(args, slot.name, value);
  }
  return at === values.length;
}

function setOption(args: ParsedArgs, spec: OptionSpec, value: unknown): void {
  setKey(args, spec.name, value);
  if (spec.alias) args[spec.alias] = value;
}

/** A key under each spelling yargs gives it: as declared, camelCase and kebab-case. */
function setKey(args: ParsedArgs, name: string, value: unknown): void {
  args[name] = value;
  args[name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase())] = value;
  args[name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)] = value;
}
