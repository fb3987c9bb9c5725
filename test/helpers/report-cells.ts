/**
 * Reading reports back: GFM tables out of Markdown (parsed by markdown-it, not by us), and
 * checking a displayed number against the JSON value it stands for, within the rounding of
 * the digits shown (integers exactly).
 */
import MarkdownIt from 'markdown-it';
import { expect } from 'vitest';

export interface ParsedTable {
  header: string[];
  rows: string[][];
}

/** Every table of a Markdown document, in order (including those inside <details>). */
export function markdownTables(md: string): ParsedTable[] {
  const tokens = new MarkdownIt({ html: true }).parse(md, {});
  const tables: ParsedTable[] = [];
  let current: ParsedTable | undefined;
  let row: string[] | undefined;
  let inHead = false;
  for (const t of tokens) {
    if (t.type === 'table_open') current = { header: [], rows: [] };
    else if (t.type === 'thead_open') inHead = true;
    else if (t.type === 'thead_close') inHead = false;
    else if (t.type === 'tr_open') row = [];
    else if (t.type === 'tr_close' && current && row) {
      if (inHead) current.header = row;
      else current.rows.push(row);
    } else if (t.type === 'inline' && row) row.push(t.children?.map((c) => c.content).join('') ?? t.content);
    else if (t.type === 'table_close' && current) {
      tables.push(current);
      current = undefined;
      row = undefined;
    }
  }
  return tables;
}

/** The tables whose header starts with these columns. */
export function tablesStartingWith(tables: ParsedTable[], ...columns: string[]): ParsedTable[] {
  return tables.filter((t) => columns.every((c, i) => t.header[i] === c));
}

/** Column index by header name (fails when absent). */
export function col(t: ParsedTable, name: string): number {
  const i = t.header.indexOf(name);
  expect(i, `column ${name} in ${t.header.join(' | ')}`).toBeGreaterThanOrEqual(0);
  return i;
}

/** The half-unit of the last digit shown: `0.0123` → 5e-5, `1.234e-4` → 5e-8. */
function displayTolerance(text: string): number {
  const m = /^-?\d+(?:\.(\d+))?(?:e([+-]?\d+))?$/.exec(text);
  if (!m) throw new Error(`not a displayed number: ${JSON.stringify(text)}`);
  const decimals = m[1]?.length ?? 0;
  const exponent = m[2] ? Number(m[2]) : 0;
  return 0.5 * 10 ** (exponent - decimals) * (1 + 1e-9);
}

/** A cell shows `value`: '—' for null, integers exactly, other numbers to the digits shown. */
export function expectShows(text: string, value: number | null, label: string): void {
  if (value === null) {
    expect(text, label).toBe('—');
    return;
  }
  if (/^-?\d+$/.test(text)) {
    expect(Number(text), label).toBe(value);
    return;
  }
  const shown = Number(text);
  expect(Number.isFinite(shown), `${label}: ${text}`).toBe(true);
  expect(Math.abs(shown - value), `${label}: ${text} vs ${value}`).toBeLessThanOrEqual(displayTolerance(text));
}

// biome-ignore lint/suspicious/noExplicitAny: parsed JSON output, shaped by the contract (DESIGN §5)
export type Json = any;

/** The command ran (exit 0 or 1: whether differing models exit 1 is not what these tests check). */
export function ran<R extends { status: number | null; stderr: string }>(r: R): R {
  expect(r.status, r.stderr).not.toBe(2);
  expect(r.status, r.stderr).not.toBeNull();
  return r;
}

/** The payloads of the one-key objects named `key` in a JSON array. */
export function entries(list: Json[], key: string): Json[] {
  return list.filter((e) => key in e).map((e) => e[key]);
}

/** The numeric columns of the changed-values table and their JSON values, from a TensorStatsChanged entry. */
export function changedValueColumns([, a, b, cmp]: Json): Array<[string, number | null]> {
  return [
    ['mean A', a.mean],
    ['mean B', b.mean],
    ['std A', a.std],
    ['std B', b.std],
    ['max |Δ|', cmp.max_abs_diff],
    ['mean |Δ|', cmp.mean_abs_diff],
    ['rel. L2 change', cmp.rel_l2_change],
    ['cosine', cmp.cosine_similarity],
    ['changed elements', cmp.changed_elements],
  ];
}
