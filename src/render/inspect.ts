/** Text output of `diffai inspect`: a header line, one line per tensor, then metadata. */
import type { InspectReport } from '../library.js';
import { PLAIN, type Palette } from './color.js';
import { dims, leaf, num } from './text.js';

export function renderInspectText(report: InspectReport, palette: Palette = PLAIN): string {
  const lines = [`${report.file}: ${report.format}, ${report.tensors.length} tensors, ${roleCounts(report)}`];
  for (const t of report.tensors) {
    const fields = [`dtype=${t.dtype}`, `shape=${dims(t.shape)}`, `params=${t.total_params}`];
    if (t.real && t.imag) {
      for (const [part, s] of [
        ['real', t.real],
        ['imag', t.imag],
      ] as const) {
        fields.push(`${part}.mean=${num(s.mean)}`, `${part}.std=${num(s.std)}`, `${part}.min=${num(s.min)}`, `${part}.max=${num(s.max)}`);
      }
    } else if (t.nan_count !== null) {
      fields.push(`mean=${num(t.mean)}`, `std=${num(t.std)}`, `min=${num(t.min)}`, `max=${num(t.max)}`, `l2=${num(t.l2_norm)}`);
    }
    if (t.zero_count) fields.push(`zeros=${t.zero_count}`);
    if (t.nan_count) fields.push(`nan=${t.nan_count}`);
    if (t.posinf_count) fields.push(`+inf=${t.posinf_count}`);
    if (t.neginf_count) fields.push(`-inf=${t.neginf_count}`);
    if (t.quantization) fields.push(`quantized=${t.quantization.scheme}(scale=${t.quantization.scale}, zero_point=${t.quantization.zero_point})`);
    if (t.role !== 'parameter') fields.push(`role=${t.role}`);
    if (t.tied_to !== undefined) fields.push(`tied_to=${t.tied_to}`);
    if (t.linked_to !== undefined) fields.push(`linked_to=${t.linked_to}`);
    lines.push(`  ${t.name}: ${fields.join(', ')}`);
  }
  const meta = Object.entries(report.metadata);
  if (meta.length > 0) {
    lines.push(palette.dim('metadata:'));
    for (const [k, v] of meta) lines.push(`  ${k}: ${leaf(v)}`);
  }
  for (const w of report.warnings) lines.push(palette.dim(`warning: ${w}`));
  return `${lines.join('\n')}\n`;
}

/** `N parameters` (each tie group once), then the elements of the other roles present. */
function roleCounts(report: InspectReport): string {
  const elements = new Map<string, number>();
  for (const t of report.tensors) {
    if (t.tied_to !== undefined) continue;
    elements.set(t.role, (elements.get(t.role) ?? 0) + t.total_params);
  }
  const parts = [`${elements.get('parameter') ?? 0} parameters`];
  const others: Array<[string, string]> = [
    ['buffer', 'in buffers'],
    ['quantized', 'quantized'],
    ['optimizer_state', 'in optimizer state'],
    ['scalar', 'in scalars'],
  ];
  for (const [role, label] of others) if (elements.has(role)) parts.push(`${elements.get(role)} ${label}`);
  return parts.join(', ');
}
