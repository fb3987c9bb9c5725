/**
 * The JSON/YAML shape users script against (DESIGN §5): an array of one-key objects.
 * Numbers that do not exist, and non-finite numbers in leaves, become null.
 */
import type { DiffResult } from '../diff/types.js';

export type ContractEntry = Record<string, unknown[]>;

export function toContract(results: DiffResult[]): ContractEntry[] {
  return results.map((r): ContractEntry => {
    switch (r.kind) {
      case 'TensorStatsChanged': return { [r.kind]: [r.name, r.a, r.b, r.comparison] };
      case 'TensorShapeChanged':
      case 'TensorDtypeChanged':
      case 'Modified': return { [r.kind]: [r.name, r.a, r.b] };
      case 'TensorAdded':
      case 'TensorRemoved': return { [r.kind]: [r.name, r.stats] };
      case 'Added':
      case 'Removed': return { [r.kind]: [r.name, r.value] };
      case 'TieChanged': return { [r.kind]: [r.name, r.partner, r.a, r.b] };
    }
  });
}

/** Deep copy with non-finite numbers replaced by null (JSON cannot carry them). */
export function finiteOnly(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)));
}
