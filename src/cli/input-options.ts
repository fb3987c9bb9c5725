/**
 * Options about what is read, shared by every command: `--format` (force a reader),
 * `--stream` (accepted; reading always streams), and key remapping (`--strip-prefix`,
 * `--rename`, `--rename-a`, `--rename-b`, see diff/rename.ts).
 */
import type { Argv } from 'yargs';
import { parseRenameRule } from '../diff/rename.js';
import { FORCED_FORMATS, type ForcedFormat } from '../formats/registry.js';
import type { LoadOptions } from '../load.js';

export interface InputArgs {
  format?: ForcedFormat;
  stripPrefix?: string[];
  rename?: string[];
  renameA?: string[];
  renameB?: string[];
}

export function addInputOptions<T>(y: Argv<T>): Argv<T> {
  return (y as Argv<unknown>)
    .option('format', {
      choices: FORCED_FORMATS,
      describe: 'Read every file as this format (default: recognised by its bytes); a file whose bytes are another format is an error',
    })
    .option('stream', { type: 'boolean', describe: 'Accepted for compatibility: tensors are always streamed in ~1 MiB chunks, never loaded whole' })
    .option('strip-prefix', {
      type: 'string',
      array: true,
      describe: 'Remove this prefix from every name on both sides before matching (repeatable, in order; e.g. module. of DDP)',
    })
    .option('rename', {
      type: 'string',
      array: true,
      describe: "Rename on both sides before matching: 'REGEX=REPLACEMENT' (every match; $1 … groups; repeatable, in order)",
    })
    .option('rename-a', { type: 'string', array: true, describe: 'Like --rename, for the first file only (applied before --rename)' })
    .option('rename-b', { type: 'string', array: true, describe: 'Like --rename, for the second (and later) files only (applied before --rename)' })
    .group(['format', 'stream'], 'Input (also: - reads standard input; gzip is decompressed):')
    .group(['strip-prefix', 'rename', 'rename-a', 'rename-b'], 'Matching names:') as Argv<T>;
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
