/** The warning lines for a --path or --ignore-keys-regex that matched nothing in the files read. */
import type { NameFilterName } from '../diff/differ.js';

export function filterWarnings(unmatched: NameFilterName[], files: number, typed: { path?: string; ignoreKeysRegex?: string }): string[] {
  const where = files === 1 ? 'in the file' : files === 2 ? 'in either file' : 'in any file';
  return unmatched.map((f) =>
    f === 'path'
      ? `warning: --path ${JSON.stringify(typed.path)} matches no tensor or key ${where}`
      : `warning: --ignore-keys-regex ${JSON.stringify(typed.ignoreKeysRegex)} matches no tensor or key ${where}`,
  );
}
