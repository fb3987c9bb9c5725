/** Parsed arguments of the two commands, and the option checks both share. */
import { lazyBuiltin } from '../lazy-builtin.js';
import { DiffaiError } from '../errors.js';
import type { OutputFormat } from '../render/registry.js';
import type { ReportArgs } from './report-options.js';
import { userRegExp } from '../regexp.js';

// node:os only for a --threads to check (start-up time).
const os = lazyBuiltin<typeof import('node:os')>('node:os');

export interface DiffArgs extends ReportArgs {
  fileA: string;
  fileB: string;
  output: OutputFormat;
  /** As typed: parsed by parseEpsilon, so a bad value is reported as typed. */
  epsilon?: string;
  path?: string;
  ignoreKeysRegex?: string;
  shapeOnly?: boolean;
  stats?: boolean;
  sortByChangeMagnitude?: boolean;
  exitCode?: boolean;
  quiet?: boolean;
  brief?: boolean;
  color?: boolean;
  verbose?: boolean;
  threads?: string;
}

export interface InspectArgs extends ReportArgs {
  file: string;
  output: OutputFormat;
  path?: string;
  ignoreKeysRegex?: string;
  shapeOnly?: boolean;
  color?: boolean;
  verbose?: boolean;
  threads?: string;
}

export function compileRegex(source: string | undefined): RegExp | undefined {
  if (source === undefined) return undefined;
  try {
    return userRegExp(source);
  } catch (e) {
    throw new DiffaiError(undefined, `--ignore-keys-regex: ${(e as Error).message}`);
  }
}

/** `--epsilon E`: a finite number ≥ 0 (default 0). */
export function parseEpsilon(typed: string | undefined): number {
  if (typed === undefined) return 0;
  const value = typed.trim() === '' ? Number.NaN : Number(typed);
  if (!Number.isFinite(value) || value < 0) throw new DiffaiError(undefined, `--epsilon must be a non-negative number, got ${JSON.stringify(typed)}`);
  return value;
}

/**
 * `--threads N`: a positive integer, capped at the available cores with a warning (more
 * threads than cores only compete for them, and each costs memory).
 */
export function parseThreads(typed: string | undefined, warn: (line: string) => void, cores?: number): number | undefined {
  if (typed === undefined) return undefined;
  cores ??= os().availableParallelism();
  const value = /^\s*\d+\s*$/.test(typed) ? Number(typed) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < 1) throw new DiffaiError(undefined, `--threads must be a positive integer, got ${JSON.stringify(typed)}`);
  if (value > cores) {
    warn(`warning: --threads ${value} is more than the ${cores} available cores; using ${cores}`);
    return cores;
  }
  return value;
}
