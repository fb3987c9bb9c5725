/**
 * Quantization analysis (--quantization-analysis): tensors whose dtype or quantization changed, or
 * whose values were snapped to an int grid in place: bytes, compression and the error of B against A.
 */
import { dtypeInfo } from '../dtypes.js';
import type { ComparePartial } from '../engine/partials.js';
import { bytesOf, cosine, fmt, pairData, pairLabel, roleIn, sumCompare } from './helpers.js';
import { summaryFields } from './summary.js';
import type { Collected, PairAnalysis, PairData } from './types.js';

/**
 * SQNR thresholds (dB), highest first: the precision-loss category of an SQNR. Each bin is
 * a precision class measured on real weights (the trained GPT of fixtures/analysis_real,
 * expected.json calibration.sqnr_db: f16 73.7, bf16 55.6, int8 per tensor 44.5, int4 19.4,
 * int2 2.8 dB), with bounds on the 6.02 dB-per-bit rule: ≥ 60 dB (≥ 10 bits, the f16 class),
 * ≥ 30 dB (≥ 5 bits: bf16 and int8), ≥ 15 dB (int4-class), ≥ 5 dB, below.
 */
export const PRECISION_LOSS: Array<[number, string]> = [
  [60, 'negligible'],
  [30, 'minimal'],
  [15, 'moderate'],
  [5, 'significant'],
  [-Infinity, 'severe'],
];

export function precisionLoss(sqnr: number | null, lossless: boolean): string {
  if (lossless) return 'lossless';
  if (sqnr === null) return 'unknown';
  return PRECISION_LOSS.find(([t]) => sqnr >= t)![1];
}

function sqnrOf(c: ComparePartial): number | null {
  return c.sumSqDiff > 0 && c.sumAA > 0 ? 10 * Math.log10(c.sumAA / c.sumSqDiff) : null;
}

export function quantizationAnalysis(c: Collected, p: PairData) {
  // Re-typed or re-quantized tensors, and tensors whose values were snapped to a grid in place.
  const requantized = [
    ...p.tensors.filter(
      (t) =>
        t.a &&
        t.b &&
        (t.grid !== undefined || t.a.dtype !== t.b.dtype || JSON.stringify(t.a.quantization ?? null) !== JSON.stringify(t.b.quantization ?? null)),
    ),
    // Dynamic quantization: float parameters and the packed weights that replace them.
    ...(c.passes.quantizedLinks?.get(c.pairs.indexOf(p)) ?? []),
  ];
  const records = requantized.map((t) => {
    const a = t.a!;
    const b = t.b!;
    const cmp = t.cmp;
    const lossless = cmp !== undefined && cmp.sumSqDiff === 0 && cmp.mismatched === 0;
    const sqnr = cmp ? sqnrOf(cmp) : null;
    // A linked pair is named after its float parameter; A's tensor is the packed stand-in when its name differs.
    const roleA = a.name === t.name ? roleIn(p.a, t.name) : 'quantized';
    return {
      name: t.name,
      role: roleA,
      dtype_a: a.dtype,
      dtype_b: b.dtype,
      scheme_a: a.quantization?.scheme ?? null,
      scheme_b: b.quantization?.scheme ?? (t.grid ? `${t.grid.scheme}_int${t.grid.bits}_grid` : null),
      bits_a: dtypeInfo(a.dtype).bits,
      bits_b: dtypeInfo(b.dtype).bits,
      /** Bits of information per value when B was snapped to a grid (its storage is unchanged). */
      effective_bits_b: t.grid ? t.grid.bits : dtypeInfo(b.dtype).bits,
      grid: t.grid ? { bits: t.grid.bits, scheme: t.grid.scheme, step: t.grid.step, residual_steps: t.grid.residual } : null,
      bytes_a: bytesOf(a),
      bytes_b: bytesOf(b),
      max_abs_error: cmp && cmp.pairs > 0 ? cmp.maxAbs : null,
      rmse: cmp && cmp.pairs > 0 ? Math.sqrt(cmp.sumSqDiff / cmp.pairs) : null,
      sqnr_db: sqnr,
      cosine_similarity: cmp ? cosine(cmp) : null,
      nonfinite_mismatches: cmp ? cmp.mismatched : null,
      precision_loss: cmp ? precisionLoss(sqnr, lossless) : 'unknown',
      _cmp: cmp,
    };
  });
  // Weights (parameters and quantized weights) make the overall numbers; re-typed buffers,
  // optimizer state and scalars are listed apart and never pooled with them.
  const isWeight = (r: (typeof records)[number]) => r.role === 'parameter' || r.role === 'quantized';
  const tensors = records.filter(isWeight);
  const others = records.filter((r) => !isWeight(r));
  const bytesA = tensors.reduce((s, t) => s + t.bytes_a, 0);
  const bytesB = tensors.reduce((s, t) => s + t.bytes_b, 0);
  const compared = tensors.filter((t) => t._cmp).map((t) => t._cmp!);
  const all = sumCompare(compared);
  const lossless = compared.length > 0 && all.sumSqDiff === 0 && all.mismatched === 0;
  const sqnr = compared.length > 0 ? sqnrOf(all) : null;
  const worst = [...tensors]
    .filter((t) => t._cmp)
    .sort((x, y) => (x.sqnr_db ?? Infinity) - (y.sqnr_db ?? Infinity))
    .slice(0, 3)
    .map((t) => t.name);
  const transitions: Record<string, number> = {};
  for (const t of tensors) {
    const k = `${t.scheme_a ?? t.dtype_a}->${t.scheme_b ?? t.dtype_b}`;
    transitions[k] = (transitions[k] ?? 0) + 1;
  }
  const data = {
    ...pairData(p),
    tensors_requantized: tensors.length,
    transitions,
    bytes_a: bytesA,
    bytes_b: bytesB,
    compression: bytesA > 0 ? bytesB / bytesA : null,
    compression_ratio: bytesB > 0 ? bytesA / bytesB : null,
    size_ratio: bytesA > 0 ? bytesB / bytesA : null,
    max_abs_error: compared.length > 0 && all.pairs > 0 ? all.maxAbs : null,
    rmse: all.pairs > 0 ? Math.sqrt(all.sumSqDiff / all.pairs) : null,
    sqnr_db: sqnr,
    cosine_similarity: compared.length > 0 ? cosine(all) : null,
    precision_loss: compared.length > 0 ? precisionLoss(sqnr, lossless) : 'unknown',
    worst_tensors: worst,
    tensors: tensors.map(({ _cmp, ...rest }) => rest),
    other_tensors: others.map(({ _cmp, ...rest }) => rest),
  };
  const summary = `${summaryFields([
    ['compression', data.compression],
    ['precision_loss', tensors.length === 0 ? 'none' : data.precision_loss],
  ])}${pairLabel(c, p)}`;
  const otherLines = others.map(
    (t) =>
      `${t.role} ${t.name}: ${t.dtype_a}->${t.dtype_b}, sqnr=${t.sqnr_db === null ? 'none' : `${t.sqnr_db.toFixed(2)}dB`} (not a weight: not in the totals)`,
  );
  if (tensors.length === 0) {
    return { summary, details: ['no weight changed dtype or quantization, and none was snapped to a grid', ...otherLines], data };
  }
  const details = [
    `compression_ratio=${fmt(data.compression_ratio)}x, size_ratio=${fmt(data.size_ratio)}, bytes=${bytesA}->${bytesB}, sqnr=${sqnr === null ? 'none' : `${sqnr.toFixed(2)}dB`}, tensors=${tensors.length}`,
    `transitions: ${Object.entries(transitions)
      .map(([k, v]) => `${k} (${v})`)
      .join(', ')}`,
    ...[...data.tensors]
      .sort((x, y) => (x.sqnr_db ?? Infinity) - (y.sqnr_db ?? Infinity))
      .map(
        (t) =>
          `${t.name}: ${t.dtype_a}->${t.dtype_b} (${t.bits_a}->${t.grid ? `${t.grid.bits} effective bits, ${t.grid.scheme} grid step=${fmt(t.grid.step)}` : `${t.bits_b} bits`}), bytes=${t.bytes_a}->${t.bytes_b}, max_abs_error=${fmt(t.max_abs_error)}, rmse=${fmt(t.rmse)}, sqnr=${t.sqnr_db === null ? 'none' : `${t.sqnr_db.toFixed(2)}dB`}, cosine=${fmt(t.cosine_similarity)}, precision_loss=${t.precision_loss}`,
      ),
    `worst: ${worst.join(', ') || 'none'}`,
    ...otherLines,
  ];
  const table = {
    columns: [
      'tensor',
      'dtype_a',
      'dtype_b',
      'effective_bits_b',
      'bytes_a',
      'bytes_b',
      'max_abs_error',
      'rmse',
      'sqnr_db',
      'cosine_similarity',
      'precision_loss',
    ],
    rows: data.tensors.map((t) => [
      t.name,
      t.dtype_a,
      t.dtype_b,
      t.effective_bits_b,
      t.bytes_a,
      t.bytes_b,
      t.max_abs_error,
      t.rmse,
      t.sqnr_db,
      t.cosine_similarity,
      t.precision_loss,
    ]),
  };
  return { summary, details, data, table };
}

export type QuantizationData = ReturnType<typeof quantizationAnalysis>['data'];

const plugin: PairAnalysis<QuantizationData> = {
  key: 'QuantizationAnalysis',
  label: 'quantization_analysis',
  scope: 'pair',
  needs: ['snappedGrids', 'quantizedLinks'],
  analyze: quantizationAnalysis,
};
export default plugin;
