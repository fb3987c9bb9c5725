/**
 * Anomaly detection (--anomaly-detection, --fail-on anomalies): NaN/Inf, all-zero tensors and rows
 * (dead units), exploding or vanishing weights, and sudden changes between the two models.
 * Only learnable parameters are judged (buffers, optimizer state, checkpoint scalars are
 * not weights); each tie group once; a finding in a tensor A and B hold unchanged is
 * reported once. Thresholds and their sources: docs/analyses.md.
 */
import type { ModelDescription } from '../formats/types.js';
import { isEmbedding } from './embeddings.js';
import { fmt, groupBy, layerOf, pairData, pairLabel, relChange, statsOfModel, type ModelTensor } from './helpers.js';
import { summaryFields } from './summary.js';
import type { Collected, PairAnalysis, PairData } from './types.js';

export const ANOMALY_THRESHOLDS = {
  /**
   * ‖B‖/‖A‖ of the same weight: warning at ≥ 100 (≤ 0.01), critical at ≥ 1000 (≤ 0.001).
   * Healthy training from initialisation reached 10.4 and 0.37 (GPT, 200 AdamW steps;
   * fixtures/analysis_real/expected.json, calibration).
   */
  normRatioWarning: 100,
  normRatioCritical: 1000,
  /** RMS against the median RMS of comparable weights in the same model (≥ 3 of them); healthy models stay within 0.109–4.26. */
  peerRatio: 100,
  peerMinGroup: 3,
  /** Relative L2 change ‖B − A‖/‖A‖ of a weight: warning above 100, critical above 1000; healthy training from initialisation reached 9.8. */
  suddenWarning: 100,
  suddenCritical: 1000,
  /** Scale rules (exploding, vanishing, sudden change) judge tensors of at least this many dimensions. */
  minScaleRank: 2,
};

/** Our finding types and the documents' anomaly kinds they report as (`type=` on the summary line). */
export const ANOMALY_KINDS = {
  nan_inf: 'nan_inf',
  exploding: 'gradient_explosion',
  vanishing: 'gradient_vanishing',
  sudden_change: 'weight_distribution_shift',
  dead_units: 'dead_units',
  all_zero_tensor: 'all_zero_tensor',
} as const;

type FindingType = keyof typeof ANOMALY_KINDS;

export interface Finding {
  type: FindingType;
  /** The documents' name of the anomaly kind. */
  kind: (typeof ANOMALY_KINDS)[FindingType];
  severity: 'critical' | 'warning' | 'info';
  /** The file it was found in (the first of `models`). */
  model: string;
  /** Every file it was found in: both when A and B hold the tensor unchanged. */
  models: string[];
  tensors: string[];
  detail: string;
  value?: number;
}

/** A tensor or row left out by design, with the reason. */
export interface Exemption {
  model: string;
  tensor: string;
  reason: string;
  rows?: number[];
}

const KEY_BIAS = /(^|\.)(k_proj|key|k|wk|to_k|k_lin)\.bias$/;

/** Why a tensor is not judged at all, if it is not. */
function exemptTensor(name: string): string | undefined {
  if (KEY_BIAS.test(name))
    return 'attention key bias: softmax cancels a per-query constant, so its gradient is zero by construction and its size carries no signal';
  return undefined;
}

function rms(t: ModelTensor): number | null {
  const s = t.stats;
  const n = s.total_params - (s.nan_count ?? 0) - (s.posinf_count ?? 0) - (s.neginf_count ?? 0);
  return s.l2_norm !== null && n > 0 ? s.l2_norm / Math.sqrt(n) : null;
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

type Draft = Omit<Finding, 'kind' | 'models'>;

function modelFindings(model: ModelDescription, tensors: ModelTensor[], zeroRows: Map<string, number[]> | undefined, exempt: Exemption[]): Draft[] {
  const out: Draft[] = [];
  const T = ANOMALY_THRESHOLDS;
  const path = model.path;
  const judged: ModelTensor[] = [];
  for (const t of tensors) {
    const { desc, stats } = t;
    const nan = stats.nan_count ?? 0;
    const pinf = stats.posinf_count ?? 0;
    const ninf = stats.neginf_count ?? 0;
    if (nan + pinf + ninf > 0) {
      out.push({
        type: 'nan_inf',
        severity: 'critical',
        model: path,
        tensors: [desc.name],
        detail: `nan=${nan}, posinf=${pinf}, neginf=${ninf} of ${desc.numel} elements`,
        value: nan + pinf + ninf,
      });
    }
    if (t.role !== 'parameter' || desc.numel === 0) continue;
    const reason = exemptTensor(desc.name);
    if (reason) {
      exempt.push({ model: path, tensor: desc.name, reason });
      continue;
    }
    judged.push(t);
    if (stats.zero_count === desc.numel) {
      out.push({
        type: 'all_zero_tensor',
        severity: desc.shape.length >= 2 ? 'warning' : 'info',
        model: path,
        tensors: [desc.name],
        detail: `all ${desc.numel} elements are zero${desc.shape.length < 2 ? ' (a zero vector, e.g. a freshly initialised bias, is often intended)' : ''}`,
      });
      continue;
    }
    const rows = zeroRows?.get(desc.name);
    if (!rows || rows.length === 0) continue;
    if (rows.length === 1 && desc.shape.length === 2 && isEmbedding(model, desc.name)) {
      exempt.push({
        model: path,
        tensor: desc.name,
        rows,
        reason: 'one all-zero row of an embedding table: the padding_idx row nn.Embedding zeroes and never updates',
      });
      continue;
    }
    out.push({
      type: 'dead_units',
      severity: 'warning',
      model: path,
      tensors: [desc.name],
      detail: `${rows.length} of ${desc.shape[0]} rows all zero (rows ${rows.slice(0, 10).join(', ')}${rows.length > 10 ? ', …' : ''})`,
      value: rows.length,
    });
  }
  // Scale against comparable weights of the same model: same last name component and rank.
  const peers = groupBy(
    judged.filter((t) => t.desc.shape.length >= T.minScaleRank && rms(t)),
    (t) => `${t.desc.name.slice(t.desc.name.lastIndexOf('.') + 1)}/${t.desc.shape.length}`,
  );
  for (const group of peers.values()) {
    if (group.length < T.peerMinGroup) continue;
    const med = median(group.map((t) => rms(t)!));
    for (const t of group) {
      const ratio = rms(t)! / med;
      if (ratio >= T.peerRatio || ratio <= 1 / T.peerRatio) {
        out.push({
          type: ratio > 1 ? 'exploding' : 'vanishing',
          severity: 'warning',
          model: path,
          tensors: [t.desc.name],
          detail: `rms ${fmt(rms(t))} is ${fmt(ratio)}x the median rms ${fmt(med)} of ${group.length} comparable tensors in this model`,
          value: ratio,
        });
      }
    }
  }
  return out;
}

/** Same type, tensor and value: one finding in an unchanged tensor of A and B. */
function sameFinding(x: Draft, y: Draft): boolean {
  return x.type === y.type && x.tensors.join() === y.tensors.join() && x.value === y.value && x.detail === y.detail;
}

const SEVERITIES = ['critical', 'warning', 'info'] as const;
const KIND_ORDER: FindingType[] = ['nan_inf', 'exploding', 'vanishing', 'sudden_change', 'dead_units', 'all_zero_tensor'];

export function anomalyDetection(c: Collected, p: PairData) {
  const T = ANOMALY_THRESHOLDS;
  const statsA = statsOfModel([p], p.ia);
  const statsB = statsOfModel([p], p.ib);
  const exempt: Exemption[] = [];
  const fromA = modelFindings(p.a, statsA, c.passes.zeroRows?.get(p.ia), exempt);
  const exemptB: Exemption[] = [];
  const fromB = modelFindings(p.b, statsB, c.passes.zeroRows?.get(p.ib), exemptB);
  // A tensor both files hold with identical values gives the same finding twice: report it once.
  const unchanged = new Set(p.tensors.filter((t) => t.cmp && t.cmp.changed === 0 && t.cmp.mismatched === 0 && t.a?.dtype === t.b?.dtype).map((t) => t.name));
  const drafts: Array<Draft & { models: string[] }> = fromA.map((f) => ({ ...f, models: [p.a.path] }));
  for (const f of fromB) {
    const twin = unchanged.has(f.tensors[0]!) ? drafts.find((d) => sameFinding(d, f)) : undefined;
    if (twin) {
      if (!twin.models.includes(p.b.path)) twin.models.push(p.b.path);
    } else drafts.push({ ...f, models: [p.b.path] });
  }
  for (const e of exemptB) if (!exempt.some((x) => x.tensor === e.tensor && unchanged.has(e.tensor))) exempt.push(e);
  const parametersA = new Set(statsA.filter((s) => s.role === 'parameter').map((s) => s.desc));
  const parameter = (t: PairData['tensors'][number]) => t.a !== undefined && parametersA.has(t.a);
  for (const t of p.tensors) {
    if (!t.cmp || !t.statsA || !t.statsB || !parameter(t) || exemptTensor(t.name) || t.a!.shape.length < T.minScaleRank) continue;
    const na = t.statsA.l2_norm ?? 0;
    const nb = t.statsB.l2_norm ?? 0;
    if (na > 0 && nb > 0) {
      const ratio = nb / na;
      const up = ratio >= T.normRatioWarning;
      const down = ratio <= 1 / T.normRatioWarning;
      if (up || down) {
        const critical = up ? ratio >= T.normRatioCritical : ratio <= 1 / T.normRatioCritical;
        drafts.push({
          type: up ? 'exploding' : 'vanishing',
          severity: critical ? 'critical' : 'warning',
          model: p.b.path,
          models: [p.b.path],
          tensors: [t.name],
          detail: `l2 norm ${fmt(na)} -> ${fmt(nb)} (x${fmt(ratio)}) relative to the same tensor in ${p.a.path}`,
          value: ratio,
        });
      }
    }
    const rel = relChange(t.cmp);
    if (rel !== null && rel > T.suddenWarning) {
      drafts.push({
        type: 'sudden_change',
        severity: rel > T.suddenCritical ? 'critical' : 'warning',
        model: p.b.path,
        models: [p.b.path],
        tensors: [t.name],
        detail: `relative L2 change ${fmt(rel)} (threshold ${T.suddenWarning})`,
        value: rel,
      });
    }
  }
  const findings: Finding[] = drafts.map((d) => ({
    type: d.type,
    kind: ANOMALY_KINDS[d.type],
    severity: d.severity,
    model: d.models[0]!,
    models: d.models,
    tensors: d.tensors,
    detail: d.detail,
    ...(d.value === undefined ? {} : { value: d.value }),
  }));
  const order = { critical: 0, warning: 1, info: 2 };
  findings.sort((x, y) => order[x.severity] - order[y.severity] || (x.tensors[0]! < y.tensors[0]! ? -1 : x.tensors[0]! > y.tensors[0]! ? 1 : 0));
  const count = (s: Finding['severity']) => findings.filter((f) => f.severity === s).length;
  const checked = [...statsA, ...statsB].filter((t) => t.stats.nan_count !== null).length;
  // The summary: the most severe level found, its most frequent kind (ties: KIND_ORDER), the layers it touches.
  const top = SEVERITIES.find((s) => count(s) > 0);
  const atTop = findings.filter((f) => f.severity === top);
  const byType = groupBy(atTop, (f) => f.type);
  const topType = KIND_ORDER.filter((k) => byType.has(k)).sort((x, y) => byType.get(y)!.length - byType.get(x)!.length)[0];
  const affected = new Set(atTop.flatMap((f) => f.tensors.map(layerOf))).size;
  const data = {
    ...pairData(p),
    type: topType ? ANOMALY_KINDS[topType] : 'none',
    severity: top ?? 'none',
    affected_layers: affected,
    tensors_checked: checked,
    findings_total: findings.length,
    critical: count('critical'),
    warning: count('warning'),
    info: count('info'),
    findings,
    exempt,
  };
  const summary = `${summaryFields([
    ['type', data.type],
    ['severity', data.severity],
    ['affected', `${affected} layers`],
  ])}${pairLabel(c, p)}`;
  const details = [
    `findings=${findings.length} (critical=${data.critical}, warning=${data.warning}, info=${data.info}), ${checked} tensors checked${checked === 0 ? ' (values not read)' : ''}`,
    ...findings.map((f) => `[${f.severity}] ${f.type}: ${f.tensors.join(', ')} in ${f.models.join(' and ')}: ${f.detail}`),
    ...exempt.map((e) => `exempt: ${e.tensor}${e.rows ? ` row ${e.rows.join(', ')}` : ''} in ${e.model}: ${e.reason}`),
  ];
  const table = {
    columns: ['severity', 'type', 'tensors', 'model', 'detail'],
    rows: findings.map((f) => [f.severity, f.type, f.tensors.join(', '), f.models.join(', '), f.detail]),
  };
  return { summary, details, data, table };
}

export type AnomalyData = ReturnType<typeof anomalyDetection>['data'];

const plugin: PairAnalysis<AnomalyData> = {
  key: 'AnomalyDetection',
  label: 'anomaly_detection',
  marker: '🚨',
  scope: 'pair',
  needs: ['zeroRows'],
  analyze: anomalyDetection,
  // The gate counts warning and critical findings; info notes (a zero bias) do not fail it.
  fails: (d) => d.critical + d.warning > 0,
};
export default plugin;
