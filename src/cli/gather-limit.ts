/** The bound on what a command gathers for an output format that prints a whole document at once. */
import { DiffaiError } from '../errors.js';

/**
 * Differences (or inspected tensors) an output that needs them all at once may hold: Markdown,
 * HTML and the text review view build the whole document first. 100,000 differences took 5 s
 * of CPU and 460 MB as Markdown, a million ran out of the 10 s / 300 MB budget (90 s, 1.4 GB);
 * beyond this limit the command refuses with one line instead.
 */
export const MAX_GATHERED_RESULTS = 50_000;

/** The refusal when an output (`-o markdown`, `--review-friendly`) would gather more than MAX_GATHERED_RESULTS items. */
export function gatheredTooMany(output: string, what: string): DiffaiError {
  return new DiffaiError(
    undefined,
    `${output} builds the whole document in memory and allows at most ${MAX_GATHERED_RESULTS} ${what}; this run has more: use text, -o json or -o yaml (printed as they come), or narrow it with --path`,
  );
}
