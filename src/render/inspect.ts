/** Text output of `diffai inspect`: a header line, one line per tensor, then metadata. */
import type { InspectedTensor, InspectReport } from '../library.js';
import { inspectRows, type InspectRows } from '../report/inspect-rows.js';
import { termSafe, termSafeDeep } from '../terminal.js';
import { PLAIN, type Palette } from './color.js';
import { dims, leaf, num } from './text.js';

/** Lines per piece of streamed text output. */
const LINES_PER_CHUNK = 512;

/**
 * The text of an inspection in pieces of a few thousand lines, a tensor's line built only
 * when its piece is (a million tensors never sit in memory as objects or as one string).
 * What comes from the file is escaped for a terminal as each row is built.
 */
export function* inspectTextChunks(report: InspectReport, palette: Palette = PLAIN): Generator<string> {
  const safe = termSafeDeep;
  const rows = inspectRows(report);
  let lines = [`${safe(report.file)}: ${safe(report.format)}, ${rows.count} tensors, ${roleCounts(rows)}`];
  for (let i = 0; i < rows.count; i++) {
    lines.push(tensorLine(safeTensor(rows.tensor(i))));
    if (lines.length >= LINES_PER_CHUNK) {
      yield `${lines.join('\n')}\n`;
      lines = [];
    }
  }
  const meta = Object.entries(safe(report.metadata));
  if (meta.length > 0) {
    lines.push(palette.dim('metadata:'));
    for (const [k, v] of meta) lines.push(`  ${k}: ${leaf(v)}`);
  }
  for (const w of safe(report.warnings)) lines.push(palette.dim(`warning: ${w}`));
  if (lines.length > 0) yield `${lines.join('\n')}\n`;
}

/**
 * termSafeDeep(t) without walking every member of every row: of an inspected tensor's
 * strings only the names (and a quantization scheme) come from the file; role and dtype are
 * our own words. A row with anything to escape takes the full walk.
 */
function safeTensor(t: InspectedTensor): InspectedTensor {
  const clean = (s: string | undefined) => s === undefined || termSafe(s) === s;
  return clean(t.name) && clean(t.tied_to) && clean(t.linked_to) && clean(t.quantization?.scheme) ? t : termSafeDeep(t);
}

function tensorLine(t: InspectedTensor): string {
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
  return `  ${t.name}: ${fields.join(', ')}`;
}

/** `N parameters` (each tie group once), then the elements of the other roles present. */
function roleCounts(rows: InspectRows): string {
  const elements = new Map<string, number>();
  for (let i = 0; i < rows.count; i++) {
    if (rows.tiedTo(i) !== undefined) continue;
    const role = rows.role(i);
    elements.set(role, (elements.get(role) ?? 0) + rows.numel(i));
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
