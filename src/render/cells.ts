/** How document cells read as text (Markdown, HTML, chart labels): the text output's number format. */
import { fmt } from '../analysis/helpers.js';
import type { Cell } from '../report/document.js';

/** What a missing value reads as in tables. */
export const NONE = '—';

/** Integers exactly; other numbers as the text output prints them (4 decimals, or exponent form). */
export function formatNumber(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return NONE;
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  return fmt(v);
}

export function formatCell(c: Cell): string {
  return typeof c === 'number' || c === null ? formatNumber(c) : c;
}

/** A column is numeric when every present cell is a number (right-aligned, sorted as numbers). */
export function numericColumns(rows: Cell[][], width: number): boolean[] {
  return Array.from({ length: width }, (_, j) => rows.some((r) => typeof r[j] === 'number') && rows.every((r) => r[j] === null || typeof r[j] === 'number'));
}
