import { briefText, termSafe } from './terminal.js';

/** Longest message and path an error line shows (a message may quote a megabyte-long name). */
const MAX_MESSAGE_SHOWN = 2000;
const MAX_PATH_SHOWN = 4096;

/**
 * The one error type the CLI turns into `diffai: <file>: <problem>` and exit code 2.
 * Readers throw it for anything wrong with a file; nothing else should reach the user.
 */
export class DiffaiError extends Error {
  constructor(
    /** The file the problem is in, or undefined for usage errors. */
    readonly file: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'DiffaiError';
  }

  /** The single line printed on stderr (control characters in names and paths escaped). */
  get line(): string {
    const message = briefText(this.message, MAX_MESSAGE_SHOWN);
    return termSafe(this.file === undefined ? `diffai: ${message}` : `diffai: ${briefText(this.file, MAX_PATH_SHOWN)}: ${message}`);
  }
}

/**
 * A pickle refused because loading it with `torch.load(weights_only=False)` would call,
 * reach or instantiate `globals` (names outside the allow-list, or that can only mean code).
 */
export class UnsafePickleError extends DiffaiError {
  constructor(
    file: string,
    message: string,
    readonly globals: string[],
  ) {
    super(file, message);
  }
}

/** Throws a DiffaiError for `file` unless `condition` holds. */
export function check(condition: unknown, file: string, message: string): asserts condition {
  if (!condition) throw new DiffaiError(file, message);
}
