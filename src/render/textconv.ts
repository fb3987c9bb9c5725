/**
 * Text for `git diff`'s textconv (`diffai textconv FILE`): one line per tensor with its
 * dtype, shape and statistics at full precision (shortest round-trip decimal), then one
 * line per metadata entry, so that git's line diff shows exactly the tensors that changed.
 * Lines carry no file path, since git compares a file with its own earlier version. Each
 * line is escaped for the terminal (a newline in a name cannot split it).
 */
import type { InspectReport } from '../library.js';
import type { PartStats } from '../diff/types.js';
import { dims, leaf } from './text.js';
import { termSafe } from '../terminal.js';

function exact(x: number | null): string {
  return x === null ? 'null' : String(x);
}

function part(prefix: string, s: PartStats): string[] {
  return [`${prefix}mean=${exact(s.mean)}`, `${prefix}std=${exact(s.std)}`, `${prefix}min=${exact(s.min)}`, `${prefix}max=${exact(s.max)}`];
}

export function renderTextconv(report: InspectReport): string {
  const lines = [`# diffai: ${report.format}, ${report.tensors.length} tensors`];
  const tensors = [...report.tensors].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  for (const t of tensors) {
    const fields = [t.dtype, dims(t.shape)];
    if (t.tied_to !== undefined) fields.push(`tied_to=${t.tied_to}`);
    else if (t.real && t.imag) fields.push(...part('real.', t.real), ...part('imag.', t.imag));
    else fields.push(...part('', t));
    fields.push(
      `l2=${exact(t.l2_norm)}`,
      `zeros=${t.zero_count ?? 'null'}`,
      `nan=${t.nan_count ?? 'null'}`,
      `+inf=${t.posinf_count ?? 'null'}`,
      `-inf=${t.neginf_count ?? 'null'}`,
    );
    lines.push(`${t.name}: ${fields.join(' ')}`);
  }
  for (const [k, v] of Object.entries(report.metadata).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) lines.push(`${k} = ${leaf(v)}`);
  for (const w of report.warnings) lines.push(`# warning: ${w}`);
  // git prints these lines on a terminal: names, values and warnings come from the file.
  return `${lines.map(termSafe).join('\n')}\n`;
}
