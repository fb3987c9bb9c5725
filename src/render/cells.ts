/** How document cells read as text (Markdown, HTML, chart labels): the text output's number format. */
import { fmt } from '../analysis/helpers.js';
import type { Cell } from '../report/document.js';

/** What a missing value reads as in tables. */
export const NONE = '—';

/** Integers exactly (counts, bytes); other numbers as the text output prints them (4 decimals, or exponent form). */
export function formatNumber(v: number | null | undefined, integers = true): string {
  if (v === null || v === undefined || Number.isNaN(v)) return NONE;
  if (integers && Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  return fmt(v);
}

/** A cell as text; `integerColumn` when every number of its column is an integer (a count), else 1 reads `1.0000`. */
export function formatCell(c: Cell, integerColumn = true): string {
  return typeof c === 'number' || c === null ? formatNumber(c, integerColumn) : c;
}

export interface ColumnKinds {
  /** Every present cell is a number: right-aligned, sorted as numbers. */
  numeric: boolean[];
  /** Every number is an integer: printed exactly. */
  integer: boolean[];
}

export function columnKinds(rows: Cell[][], width: number): ColumnKinds {
  const numeric = Array.from(
    { length: width },
    (_, j) => rows.some((r) => typeof r[j] === 'number') && rows.every((r) => r[j] === null || typeof r[j] === 'number'),
  );
  const integer = Array.from({ length: width }, (_, j) => rows.every((r) => typeof r[j] !== 'number' || Number.isInteger(r[j])));
  return { numeric, integer };
}
