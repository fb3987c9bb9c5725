/**
 * Checks of what library callers pass (paths, options, analysis names). JavaScript callers
 * can pass anything; a wrong argument is a DiffaiError with one line naming the function
 * and the argument, never a TypeError from deep inside or a silently odd result. Aborts
 * stay AbortErrors (from the caller's signal).
 */
import { ANALYSIS_OPTIONS } from './analysis/registry.js';
import { DiffaiError } from './errors.js';
import { FORCED_FORMATS } from './formats/registry.js';
import { lazyBuiltin } from './lazy-builtin.js';
import { guardBacktracking } from './regexp.js';

const os = lazyBuiltin<typeof import('node:os')>('node:os');

/** A short description of a wrong value for a message (never its whole content). */
function shown(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return value === '' ? 'an empty string' : `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `${typeof value} ${String(value)}`;
  if (typeof value === 'function') return 'a function';
  return typeof value === 'object' ? `an object (${Object.prototype.toString.call(value).slice(8, -1)})` : String(typeof value);
}

function fail(fn: string, what: string, expected: string, value: unknown): never {
  throw new DiffaiError(undefined, `${fn}: ${what} must be ${expected}, got ${shown(value)}`);
}

/** A file or directory path: a non-empty string without NUL. */
export function checkPath(fn: string, what: string, value: unknown): string {
  if (typeof value !== 'string' || value === '' || value.includes('\0')) fail(fn, what, 'a file path (a non-empty string without NUL)', value);
  return value;
}

/** A list of at least `min` paths. */
export function checkPaths(fn: string, value: unknown, min: number): string[] {
  if (!Array.isArray(value)) fail(fn, 'paths', 'an array of file paths', value);
  if (value.length < min) throw new DiffaiError(undefined, `${fn}: give at least ${min} files, got ${value.length}`);
  return value.map((p, i) => checkPath(fn, `paths[${i}]`, p));
}

type Check = (value: unknown) => string | undefined;
const isBool: Check = (v) => (typeof v === 'boolean' ? undefined : 'true or false');
const isFunction: Check = (v) => (typeof v === 'function' ? undefined : 'a function');
const positiveInteger: Check = (v) => (typeof v === 'number' && Number.isInteger(v) && v >= 1 ? undefined : 'a positive integer');

/** Every option the library reads, with what it must be; undefined is always allowed. */
const OPTION_CHECKS: Record<string, Check> = {
  epsilon: (v) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? undefined : 'a finite number ≥ 0'),
  path: (v) => (typeof v === 'string' ? undefined : 'a string'),
  ignoreKeysRegex: (v) => {
    if (!(v instanceof RegExp)) return 'a RegExp (compile strings with new RegExp(…))';
    guardBacktracking(); // it will run over names the file chooses
    return undefined;
  },
  shapeOnly: isBool,
  sortByChangeMagnitude: isBool,
  threads: positiveInteger,
  format: (v) => (FORCED_FORMATS.includes(v as never) ? undefined : `one of ${FORCED_FORMATS.join(', ')}`),
  chunkElements: positiveInteger,
  readsInFlight: positiveInteger,
  reads: (v) => (v === 'ahead' || v === 'inline' ? undefined : "'ahead' or 'inline'"),
  signal: (v) => (v instanceof AbortSignal ? undefined : 'an AbortSignal'),
  onBytes: isFunction,
  onTotalBytes: isFunction,
  onTensor: isFunction,
};

/** The analyses' options (numHeads, rankK, clustering.clusters …), as their registrations declare them. */
function checkAnalysisOptions(fn: string, options: Record<string, unknown>): void {
  for (const o of ANALYSIS_OPTIONS) {
    const [key, inner] = o.target;
    let value = options[key];
    if (inner !== undefined) {
      if (value === undefined) continue;
      if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(fn, `options.${key}`, 'an object', value);
      value = (value as Record<string, unknown>)[inner];
    }
    if (value !== undefined && !o.valid(value)) fail(fn, `options.${o.target.join('.')}`, o.expected, value);
  }
}

/** `options` as given (undefined → {}); anything but a plain object, or a known option of the wrong type, is refused. */
export function checkOptions<T extends object>(fn: string, options: T | undefined): T {
  if (options === undefined) return {} as T;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) fail(fn, 'options', 'an object or undefined', options);
  for (const [name, check] of Object.entries(OPTION_CHECKS)) {
    const value = (options as Record<string, unknown>)[name];
    if (value === undefined) continue;
    const expected = check(value);
    if (expected) fail(fn, `options.${name}`, expected, value);
  }
  checkAnalysisOptions(fn, options as Record<string, unknown>);
  // More engine threads than cores only compete, and each holds its own memory (10^9 threads
  // would start a worker per tensor): capped, as the CLI caps --threads.
  const threads = (options as { threads?: number }).threads;
  const cores = os().availableParallelism();
  return threads !== undefined && threads > cores ? { ...options, threads: cores } : options;
}

/** Analysis names: an iterable of known names (`known`). */
export function checkAnalysisNames(fn: string, value: unknown, known: readonly string[]): string[] {
  if (typeof value === 'string' || value === null || typeof (value as Iterable<unknown>)?.[Symbol.iterator] !== 'function')
    fail(fn, 'analyses', `an array of analysis names (${known.join(', ')})`, value);
  const names = [...(value as Iterable<unknown>)];
  for (const n of names) {
    if (typeof n !== 'string' || !known.includes(n))
      throw new DiffaiError(undefined, `${fn}: unknown analysis ${typeof n === 'string' ? JSON.stringify(n) : shown(n)} (known: ${known.join(', ')})`);
  }
  return names as string[];
}
