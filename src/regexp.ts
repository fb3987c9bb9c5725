/**
 * Regular expressions the user gives (`--ignore-keys-regex`, `--rename`, the library's
 * `ignoreKeysRegex`) run over names the file chooses: `(a+)+$` against a tensor named 60 `a`s
 * and a `!` backtracks for hours. V8 can fall back to its linear-time engine when a match
 * backtracks too much; that is switched on (once, for the process) before any user pattern
 * runs. Patterns that engine cannot run (back-references, lookaround) keep backtracking.
 */
import { lazyBuiltin } from './lazy-builtin.js';

const v8 = lazyBuiltin<typeof import('node:v8')>('node:v8');
let guarded = false;

/** Lets V8 finish any pattern that backtracks excessively in linear time. */
export function guardBacktracking(): void {
  if (guarded) return;
  guarded = true;
  v8().setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
}

/** A user pattern, compiled with the backtracking guard on (throws SyntaxError as RegExp does). */
export function userRegExp(source: string, flags?: string): RegExp {
  guardBacktracking();
  return new RegExp(source, flags);
}
