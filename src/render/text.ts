/**
 * Text output, as the original prints it (DESIGN §5): one line per result, two-space
 * indent, a marker (~ + -), 4 decimals (more where 4 would hide a change).
 */
import type { Comparison, DiffResult, PartStats, TensorStats } from '../diff/types.js';
import type { LeafValue } from '../formats/types.js';
import { PLAIN, type Palette } from './color.js';
import { termSafe, termSafeDeep } from '../terminal.js';

export interface TextOptions {
  /** Append min/max to each changed-values line. */
  stats?: boolean;
  palette?: Palette;
}

export const NO_DIFFERENCES = 'No differences found.';

export function num(x: number | null | undefined): string {
  return x === null || x === undefined ? 'none' : x.toFixed(4);
}

export function dims(shape: number[]): string {
  return `[${shape.join(', ')}]`;
}

export function leaf(value: LeafValue): string {
  return typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));
}

/**
 * `label=a->b` with 4 decimals, as the original prints; where 4 decimals print the same
 * text for different values, as many decimals as it takes to tell them apart (the shortest
 * round-trip form when fixed notation cannot), so a change is never shown as no change.
 * Equal values are shown once (`label=a`).
 */
export function moved(label: string, a: number | null, b: number | null): string {
  if (a === b || (a !== null && b !== null && Number.isNaN(a) && Number.isNaN(b))) return `${label}=${num(a)}`;
  // Each side formatted once (a million-line diff formats millions of numbers).
  const [x4, y4] = [num(a), num(b)];
  if (a === null || b === null || x4 !== y4) return `${label}=${x4}->${y4}`;
  for (let decimals = 5; decimals <= 20; decimals++) {
    const [x, y] = [a.toFixed(decimals), b.toFixed(decimals)];
    if (x !== y) return `${label}=${x}->${y}`;
  }
  return `${label}=${String(a)}->${String(b)}`;
}

/** 4 decimals, or 4 significant digits for a non-zero value that 4 decimals would print as 0. */
function significant(x: number | null): string {
  return x !== null && x !== 0 && Math.abs(x) < 5e-5 ? x.toPrecision(4) : num(x);
}

/** `label=a->b` for counts that differ (NaN/±Inf), nothing when they agree. */
function countMoved(label: string, a: number | null, b: number | null): string[] {
  return a === b ? [] : [`${label}=${a ?? 'none'}->${b ?? 'none'}`];
}

function valueLine(a: TensorStats, b: TensorStats, comparison: Comparison, withMinMax: boolean): string {
  const parts = (prefix: string, x: PartStats, y: PartStats) => {
    const out = [moved(`${prefix}mean`, x.mean, y.mean), moved(`${prefix}std`, x.std, y.std)];
    if (withMinMax) out.push(moved(`${prefix}min`, x.min, y.min), moved(`${prefix}max`, x.max, y.max));
    return out;
  };
  const complex = a.real && a.imag && b.real && b.imag;
  const fields = complex ? [...parts('real.', a.real!, b.real!), ...parts('imag.', a.imag!, b.imag!)] : parts('', a, b);
  fields.push(
    ...countMoved('nan', a.nan_count, b.nan_count),
    ...countMoved('+inf', a.posinf_count, b.posinf_count),
    ...countMoved('-inf', a.neginf_count, b.neginf_count),
  );
  // Values moved but no statistic shows it (a permutation, a change too small for any
  // statistic): say how many elements changed and by how much.
  if (!fields.some((f) => f.includes('->')))
    fields.push(`changed_elements=${comparison.changed_elements}`, `max_abs_diff=${significant(comparison.max_abs_diff)}`);
  return fields.join(', ');
}

export function renderResultLine(r: DiffResult, options: TextOptions = {}): string {
  const p = options.palette ?? PLAIN;
  switch (r.kind) {
    case 'TensorStatsChanged':
      return p.changed(`  ~ ${r.name}: ${valueLine(r.a, r.b, r.comparison, options.stats ?? false)}`);
    case 'TensorShapeChanged':
      return p.changed(`  ~ ${r.name}: shape=${dims(r.a)} -> ${dims(r.b)}`);
    case 'TensorDtypeChanged':
      return p.changed(`  ~ ${r.name}: dtype=${r.a} -> ${r.b}`);
    case 'TensorAdded':
      return p.added(`  + ${r.name}: shape=${dims(r.stats.shape)}, dtype=${r.stats.dtype}, params=${r.stats.total_params}`);
    case 'TensorRemoved':
      return p.removed(`  - ${r.name}: shape=${dims(r.stats.shape)}, dtype=${r.stats.dtype}, params=${r.stats.total_params}`);
    case 'Modified':
      return p.changed(`  ~ ${r.name}: ${leaf(r.a)} -> ${leaf(r.b)}`);
    case 'Added':
      return p.added(`  + ${r.name}: ${leaf(r.value)}`);
    case 'Removed':
      return p.removed(`  - ${r.name}: ${leaf(r.value)}`);
    case 'TieChanged': {
      const side = (state: 'tied' | 'untied') => (state === 'tied' ? `tied to ${r.partner}` : 'own storage');
      return p.changed(`  ~ ${r.name}: ${side(r.a)} -> ${side(r.b)}`);
    }
  }
}

/**
 * `r` with control characters escaped in the strings its line shows from files: a tensor's
 * name, a tie's names, an entry's name and values (what termSafeDeep(r) gives for the line,
 * without walking a tensor's statistics: numbers, shapes and registry dtypes).
 */
export function termSafeResult(r: DiffResult): DiffResult {
  switch (r.kind) {
    case 'Added':
    case 'Removed':
    case 'Modified':
      return termSafeDeep(r);
    case 'TieChanged': {
      const [name, partner] = [termSafe(r.name), termSafe(r.partner)];
      return name === r.name && partner === r.partner ? r : { ...r, name, partner };
    }
    default: {
      const name = termSafe(r.name);
      return name === r.name ? r : { ...r, name };
    }
  }
}

export function renderText(results: DiffResult[], options: TextOptions = {}): string {
  return renderEscapedText(results.map(termSafeResult), options);
}

/** renderText for results whose strings are already escaped for a terminal. */
export function renderEscapedText(results: DiffResult[], options: TextOptions = {}): string {
  if (results.length === 0) return `${NO_DIFFERENCES}\n`;
  return `${results.map((r) => renderResultLine(r, options)).join('\n')}\n`;
}
