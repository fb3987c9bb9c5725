/**
 * Stderr lines about names: with --verbose, every name changed by --strip-prefix/--rename;
 * unless quiet, a note when one side's names all carry a prefix the other's lack.
 */
import { prefixHint } from '../diff/rename.js';
import type { ModelDescription } from '../formats/types.js';
import { writeError } from './output.js';

export function describeKeyMaps(models: ModelDescription[], quiet: boolean, verbose: boolean): void {
  if (verbose) {
    for (const m of models) {
      for (const [name, original] of m.originalNames ?? []) writeError(`diffai: ${m.path}: renamed ${original} -> ${name}\n`);
    }
  }
  if (quiet) return;
  for (let k = 0; k + 1 < models.length; k++) {
    const a = models[k]!;
    const b = models[k + 1]!;
    const hint = prefixHint(a, b);
    if (!hint) continue;
    const [own, other] = hint.side === 'a' ? [a, b] : [b, a];
    writeError(
      `diffai: note: every tensor name in ${own.path} starts with ${JSON.stringify(hint.prefix)} and ${other.path}'s do not; --strip-prefix ${hint.prefix} would match ${hint.matches} of them\n`,
    );
  }
}
