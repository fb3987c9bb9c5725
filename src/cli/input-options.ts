/**
 * The input options' arguments (declared in options.ts): `--format` (force a reader) and key
 * remapping (`--strip-prefix`, `--rename`, `--rename-a`, `--rename-b`, see diff/rename.ts),
 * turned into the library's load options.
 */
import { parseRenameRule } from '../diff/rename.js';
import type { ForcedFormat } from '../formats/registry.js';
import type { LoadOptions } from '../load.js';

export interface InputArgs {
  format?: ForcedFormat;
  stripPrefix?: string[];
  rename?: string[];
  renameA?: string[];
  renameB?: string[];
}

/** The library's load options from parsed arguments (throws DiffaiError on a bad rule). */
export function loadOptionsFrom(args: InputArgs): LoadOptions {
  const rules = (values: string[] | undefined, flag: string) => (values ?? []).map((v) => parseRenameRule(String(v), flag));
  return {
    format: args.format,
    stripPrefix: (args.stripPrefix ?? []).map(String),
    rename: rules(args.rename, '--rename'),
    renameA: rules(args.renameA, '--rename-a'),
    renameB: rules(args.renameB, '--rename-b'),
  };
}
