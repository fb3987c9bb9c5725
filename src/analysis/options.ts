/**
 * The options an analysis takes besides its flag (`--rank-k`, `--clusters`, …), each declared
 * once in the analysis's registration (src/analysis/registry.ts) with what it accepts. The
 * command line's option table, help and parsing (src/cli/options.ts, src/cli/analysis-options.ts)
 * and the library's argument checks (src/arguments.ts) all derive from that one declaration,
 * so the two cannot accept different values.
 */
import { DiffaiError } from '../errors.js';

/** Where the value lands in the library's options: a key, or a key inside a group (`clustering.clusters`). */
export type OptionTarget = readonly [key: string] | readonly [group: string, key: string];

export interface AnalysisOption {
  /** Command-line option (`--<flag>`). */
  flag: string;
  /** Placeholder for the value in help (`--rank-k K`). */
  value: string;
  /** Help text. */
  describe: string;
  choices?: readonly string[];
  target: OptionTarget;
  /** What a value must be, for the messages of both the command line and the library (`a positive integer`). */
  expected: string;
  /** Whether a library caller's value is one the option accepts. */
  valid(value: unknown): boolean;
  /** The command-line text as the library's value; a DiffaiError naming `--<flag>` when it is not one. */
  parse(text: string): unknown;
}

type Declared = Pick<AnalysisOption, 'flag' | 'value' | 'describe' | 'target'>;

/** A number as typed: NaN when the text is not a plain decimal number. */
export function numberArg(text: string): number {
  const t = text.trim();
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t) ? Number(t) : Number.NaN;
}

function refuse(flag: string, expected: string, got: string): never {
  throw new DiffaiError(undefined, `--${flag} must be ${expected}, got ${got}`);
}

/**
 * A numeric option whose values `ok` accepts (from the command line's text and from a library
 * caller alike). `quoted`: the message shows the text as a JSON string.
 */
export function numberOption(d: Declared, expected: string, ok: (v: number) => boolean, quoted = false): AnalysisOption {
  return {
    ...d,
    expected,
    valid: (v) => typeof v === 'number' && ok(v),
    parse: (text) => {
      const v = numberArg(text);
      return ok(v) ? v : refuse(d.flag, expected, quoted ? JSON.stringify(text) : text);
    },
  };
}

export const isPositiveInteger = (v: number): boolean => Number.isSafeInteger(v) && v >= 1;
export const isNonNegative = (v: number): boolean => Number.isFinite(v) && v >= 0;
export const isPositive = (v: number): boolean => Number.isFinite(v) && v > 0;
export const integerIn =
  (lo: number, hi: number) =>
  (v: number): boolean =>
    Number.isInteger(v) && v >= lo && v <= hi;

/** One of `choices` (the command line's parser checks them before this does). */
export function choiceOption(d: Declared, choices: readonly string[]): AnalysisOption {
  const expected = `one of ${choices.join(', ')}`;
  const valid = (v: unknown) => typeof v === 'string' && choices.includes(v);
  return { ...d, choices, expected, valid, parse: (text) => (valid(text) ? text : refuse(d.flag, expected, text)) };
}

/** A non-empty name; `missing` is the whole message for an empty one. */
export function nameOption(d: Declared, expected: string, missing: string): AnalysisOption {
  const valid = (v: unknown) => typeof v === 'string' && v !== '';
  return {
    ...d,
    expected,
    valid,
    parse: (text) => {
      if (!valid(text)) throw new DiffaiError(undefined, missing);
      return text;
    },
  };
}

/** A list of at most `max` positive integers, typed as `1,3,224,224` (or with x / ×). */
export function dimsOption(d: Declared, max: number): AnalysisOption {
  const each = numberOption(d, 'a positive integer', isPositiveInteger, true);
  return {
    ...d,
    expected: `a list of at most ${max} positive integers`,
    valid: (v) => Array.isArray(v) && v.length >= 1 && v.length <= max && v.every((x) => each.valid(x)),
    parse: (text) => {
      const parts = text.split(/[,x\u00d7]/).map((s) => s.trim()); // × escaped: the CLI bundle stays ASCII
      if (parts.length > max) throw new DiffaiError(undefined, `--${d.flag} has ${parts.length} dimensions; at most ${max}`);
      return parts.map((s) => each.parse(s));
    },
  };
}
