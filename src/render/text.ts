/**
 * Text output, as the original prints it (DESIGN §5): one line per result, two-space
 * indent, a marker (~ + -), 4 decimals.
 */
import type { DiffResult, PartStats, TensorStats } from '../diff/types.js';
import type { LeafValue } from '../formats/types.js';
import { PLAIN, type Palette } from './color.js';
import { termSafeDeep } from '../terminal.js';

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

function moved(label: string, a: number | null, b: number | null): string {
  return `${label}=${num(a)}->${num(b)}`;
}

function valueLine(a: TensorStats, b: TensorStats, withMinMax: boolean): string {
  const parts = (prefix: string, x: PartStats, y: PartStats) => {
    const out = [moved(`${prefix}mean`, x.mean, y.mean), moved(`${prefix}std`, x.std, y.std)];
    if (withMinMax) out.push(moved(`${prefix}min`, x.min, y.min), moved(`${prefix}max`, x.max, y.max));
    return out;
  };
  if (a.real && a.imag && b.real && b.imag) return [...parts('real.', a.real, b.real), ...parts('imag.', a.imag, b.imag)].join(', ');
  return parts('', a, b).join(', ');
}

export function renderResultLine(r: DiffResult, options: TextOptions = {}): string {
  const p = options.palette ?? PLAIN;
  switch (r.kind) {
    case 'TensorStatsChanged':
      return p.changed(`  ~ ${r.name}: ${valueLine(r.a, r.b, options.stats ?? false)}`);
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

export function renderText(results: DiffResult[], options: TextOptions = {}): string {
  if (results.length === 0) return `${NO_DIFFERENCES}\n`;
  return `${results.map((r) => renderResultLine(termSafeDeep(r), options)).join('\n')}\n`;
}
