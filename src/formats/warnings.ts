/**
 * Bounded warning lists. A hostile file can ask for a warning per tensor (a million duplicate
 * or string tensors), which would cost memory and flood the terminal; a description keeps the
 * first MAX_WARNINGS and counts the rest in one last line.
 */

import { briefText } from '../terminal.js';

/** Warnings kept per description; real files have a handful. */
export const MAX_WARNINGS = 100;

const dropped = new WeakMap<string[], number>();

/** The line that stands for `n` warnings left out. */
function moreLine(n: number): string {
  return `… and ${n} more warning${n === 1 ? '' : 's'} left out`;
}

/** Characters of one warning kept (it may quote a name of megabytes). */
const MAX_WARNING_TEXT = 2000;

/** A warning list whose push keeps at most MAX_WARNINGS entries (each cut to MAX_WARNING_TEXT) and then one line counting the rest. */
export class WarningList extends Array<string> {
  override push(...items: string[]): number {
    for (const w of items) {
      if (this.length < MAX_WARNINGS) super.push(briefText(w, MAX_WARNING_TEXT));
      else {
        const n = (dropped.get(this) ?? 0) + 1;
        dropped.set(this, n);
        this[MAX_WARNINGS] = moreLine(n);
      }
    }
    return this.length;
  }
}

/** A new bounded warning list. */
export function warningList(): string[] {
  return new WarningList();
}

/** `warnings` cut to MAX_WARNINGS and a counting line (for lists built elsewhere, e.g. joined shards). */
export function capWarnings(warnings: string[]): string[] {
  if (warnings.length <= MAX_WARNINGS + 1) return warnings;
  const capped = warnings.slice(0, MAX_WARNINGS);
  capped.push(moreLine(warnings.length - MAX_WARNINGS));
  return capped;
}
