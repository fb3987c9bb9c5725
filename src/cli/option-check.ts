/**
 * Looks at the raw arguments before yargs does: which command they name, whether help or
 * the version is asked for, and every option that does not exist, each reported once by
 * the name typed, with the nearest real option as a suggestion. Done first, so an unknown
 * option that took a file name as its value (`--bogus a.pt b.pt`) is reported as what it
 * is, not as a missing file argument.
 */
import { DiffaiError } from '../errors.js';
import { type CommandName, type OptionSpec, optionsFor } from './options.js';

export interface ArgvSummary {
  command: CommandName;
  help: boolean;
  version: boolean;
}

export function summarizeArgv(argv: string[]): ArgvSummary {
  const positionals: string[] = [];
  scan(
    argv,
    optionsFor('diff'),
    () => {},
    (p) => positionals.push(p),
  );
  const command: CommandName = positionals[0] === 'inspect' ? 'inspect' : 'diff';
  const specs = optionsFor(command);
  const unknown: string[] = [];
  let help = false;
  let version = false;
  scan(argv, specs, (typed, spec) => {
    if (!spec) {
      if (!unknown.includes(typed)) unknown.push(typed);
      return;
    }
    if (spec.name === 'help') help = true;
    if (spec.name === 'version') version = true;
  });
  // Help wins over mistakes elsewhere on the line, as in git.
  if (unknown.length > 0 && !help) throw new DiffaiError(undefined, unknownOptions(unknown, command, specs));
  return { command, help, version };
}

/** `unknown option --stat (did you mean --stats?); see diffai --help`, naming the other command's options as such. */
function unknownOptions(unknown: string[], command: CommandName, specs: OptionSpec[]): string {
  const other: CommandName = command === 'diff' ? 'inspect' : 'diff';
  const otherNames = new Set(optionsFor(other).map((s) => `--${s.name}`));
  const known = specs.flatMap((s) => [`--${s.name}`, ...(s.negatable ? [`--no-${s.name}`] : [])]);
  const described = unknown.map((u) => {
    if (otherNames.has(u))
      return `${u} (an option of ${other === 'diff' ? 'diffai A B' : 'diffai inspect'}, not of ${command === 'diff' ? 'diffai A B' : 'diffai inspect'})`;
    const near = suggestion(u, known);
    return near ? `${u} (did you mean ${near}?)` : u;
  });
  return `unknown option${unknown.length > 1 ? 's' : ''} ${described.join(', ')}; see diffai${command === 'inspect' ? ' inspect' : ''} --help`;
}

/**
 * Calls `visit` for every option token with the spec it names (undefined when none), skips
 * the values of options that take one, and passes every other argument to `positional`.
 */
function scan(
  argv: string[],
  specs: OptionSpec[],
  visit: (typed: string, spec: OptionSpec | undefined) => void,
  positional: (arg: string) => void = () => {},
): void {
  const byName = new Map<string, OptionSpec>();
  for (const s of specs) {
    byName.set(s.name, s);
    if (s.type === 'boolean') byName.set(`no-${s.name}`, s);
  }
  const byAlias = new Map(specs.filter((s) => s.alias).map((s) => [s.alias!, s]));
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === '--') {
      argv.slice(i + 1).forEach(positional);
      return;
    }
    if (token.startsWith('--')) {
      const eq = token.indexOf('=');
      const name = token.slice(2, eq < 0 ? undefined : eq);
      const spec = byName.get(name);
      visit(`--${name}`, spec);
      if (spec?.type === 'string' && eq < 0) i++;
    } else if (token.startsWith('-') && token.length > 1 && !/^-\d/.test(token)) {
      // A cluster of short options (-qv); one taking a value ends it (-ojson, or -o json).
      for (let k = 1; k < token.length; k++) {
        const spec = byAlias.get(token[k]!);
        visit(`-${token[k]}`, spec);
        if (spec?.type === 'string') {
          if (k === token.length - 1) i++;
          break;
        }
      }
    } else {
      positional(token);
    }
  }
}

/** The known option nearest to `typed`: a prefix of one, or within a few edits. */
export function suggestion(typed: string, known: string[]): string | undefined {
  const t = typed.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  const prefixed = known.filter((k) => k.startsWith(t) || t.startsWith(k));
  if (prefixed.length === 1) return prefixed[0];
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(t.length / 4));
  for (const k of known) {
    const d = editDistance(t, k);
    if (d < bestDistance || (d === bestDistance && best === undefined)) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = row;
  }
  return prev[b.length]!;
}
