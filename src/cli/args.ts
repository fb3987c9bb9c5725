/** Parsed arguments of the two commands, and the option checks both share. */
import { DiffaiError } from '../errors.js';
import type { OutputFormat } from '../render/registry.js';
import type { ReportArgs } from './report-options.js';

export interface DiffArgs extends ReportArgs {
  fileA: string;
  fileB: string;
  output: OutputFormat;
  epsilon: number;
  path?: string;
  ignoreKeysRegex?: string;
  shapeOnly: boolean;
  stats: boolean;
  sortByChangeMagnitude: boolean;
  quiet: boolean;
  brief: boolean;
  color?: boolean;
  verbose: boolean;
  threads?: number;
}

export interface InspectArgs extends ReportArgs {
  file: string;
  output: OutputFormat;
  path?: string;
  ignoreKeysRegex?: string;
  shapeOnly: boolean;
  color?: boolean;
  verbose: boolean;
  threads?: number;
}

export function compileRegex(source: string | undefined): RegExp | undefined {
  if (source === undefined) return undefined;
  try {
    return new RegExp(source);
  } catch (e) {
    throw new DiffaiError(undefined, `--ignore-keys-regex: ${(e as Error).message}`);
  }
}
