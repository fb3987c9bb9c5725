/** Text output of `diffai inspect`: a header line, one line per tensor, then metadata. */
import type { InspectReport } from '../library.js';
import { PLAIN, type Palette } from './color.js';
import { dims, leaf, num } from './text.js';

export function renderInspectText(report: InspectReport, palette: Palette = PLAIN): string {
  const params = report.tensors.reduce((sum, t) => sum + t.total_params, 0);
  const lines = [`${report.file}: ${report.format}, ${report.tensors.length} tensors, ${params} parameters`];
  for (const t of report.tensors) {
    const fields = [`dtype=${t.dtype}`, `shape=${dims(t.shape)}`, `params=${t.total_params}`];
    if (t.real && t.imag) {
      for (const [part, s] of [['real', t.real], ['imag', t.imag]] as const) {
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
    lines.push(`  ${t.name}: ${fields.join(', ')}`);
  }
  const meta = Object.entries(report.metadata);
  if (meta.length > 0) {
    lines.push(palette.dim('metadata:'));
    for (const [k, v] of meta) lines.push(`  ${k}: ${leaf(v)}`);
  }
  for (const w of report.warnings) lines.push(palette.dim(`warning: ${w}`));
  return lines.join('\n') + '\n';
}
