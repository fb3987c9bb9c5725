/**
 * Anomaly detection (--anomaly-detection, --fail-on anomalies): NaN/Inf, all-zero tensors and rows
 * (dead units), exploding or vanishing tensors, and sudden changes between the two models.
 */
import type { TensorStats } from '../diff/types.js';
import type { TensorDescriptor } from '../formats/types.js';
import { fmt, groupBy, isParameter, pairData, pairLabel, relChange, statsOfModel } from './helpers.js';
import type { Collected, PairAnalysis, PairData } from './types.js';

export const ANOMALY_THRESHOLDS = {
  /** ‖B‖/‖A‖ of the same tensor: warning at ≥ 10 (≤ 0.1), critical at ≥ 1000 (≤ 0.001). */
  normRatioWarning: 10,
  normRatioCritical: 1000,
  /** RMS against the median RMS of comparable tensors in the same model (≥ 3 of them). */
  peerRatio: 100,
  peerMinGroup: 3,
  /** Relative L2 change ‖B − A‖/‖A‖: warning above 1, critical above 10. */
  suddenWarning: 1,
  suddenCritical: 10,
};

export interface Finding {
  type: 'nan_inf' | 'all_zero_tensor' | 'dead_units' | 'exploding' | 'vanishing' | 'sudden_change';
  severity: 'critical' | 'warning' | 'info';
  model: string;
  tensors: string[];
  detail: string;
  value?: number;
}

function rms(s: TensorStats): number | null {
  const n = s.total_params - (s.nan_count ?? 0) - (s.posinf_count ?? 0) - (s.neginf_count ?? 0);
  return s.l2_norm !== null && n > 0 ? s.l2_norm / Math.sqrt(n) : null;
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function modelFindings(path: string, tensors: Array<{ desc: TensorDescriptor; stats: TensorStats }>, zeroRows: Map<string, number[]> | undefined): Finding[] {
  const out: Finding[] = [];
  const T = ANOMALY_THRESHOLDS;
  for (const { desc, stats } of tensors) {
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
    if (!isParameter(desc) || desc.numel === 0) continue;
    if (stats.zero_count === desc.numel) {
      out.push({
        type: 'all_zero_tensor',
        severity: desc.shape.length >= 2 ? 'warning' : 'info',
        model: path,
        tensors: [desc.name],
        detail: `all ${desc.numel} elements are zero${desc.shape.length < 2 ? ' (a zero vector, e.g. a freshly initialised bias, is often intended)' : ''}`,
      });
    } else {
      const rows = zeroRows?.get(desc.name);
      if (rows && rows.length > 0) {
        out.push({
          type: 'dead_units',
          severity: 'warning',
          model: path,
          tensors: [desc.name],
          detail: `${rows.length} of ${desc.shape[0]} rows all zero (rows ${rows.slice(0, 10).join(', ')}${rows.length > 10 ? ', …' : ''})`,
          value: rows.length,
        });
      }
    }
  }
  // Scale against comparable tensors of the same model: same last name component and rank.
  const peers = groupBy(
    tensors.filter((t) => isParameter(t.desc) && rms(t.stats)),
    (t) => `${t.desc.name.slice(t.desc.name.lastIndexOf('.') + 1)}/${t.desc.shape.length}`,
  );
  for (const group of peers.values()) {
    if (group.length < T.peerMinGroup) continue;
    const med = median(group.map((t) => rms(t.stats)!));
    for (const t of group) {
      const ratio = rms(t.stats)! / med;
      if (ratio >= T.peerRatio || ratio <= 1 / T.peerRatio) {
        out.push({
          type: ratio > 1 ? 'exploding' : 'vanishing',
          severity: 'warning',
          model: path,
          tensors: [t.desc.name],
          detail: `rms ${fmt(rms(t.stats))} is ${fmt(ratio)}x the median rms ${fmt(med)} of ${group.length} comparable tensors in this model`,
          value: ratio,
        });
      }
    }
  }
  return out;
}

export function anomalyDetection(c: Collected, p: PairData) {
  const T = ANOMALY_THRESHOLDS;
  const statsA = statsOfModel([p], p.ia);
  const statsB = statsOfModel([p], p.ib);
  const findings: Finding[] = [
    ...modelFindings(p.a.path, statsA, c.passes.zeroRows?.get(p.ia)),
    ...modelFindings(p.b.path, statsB, c.passes.zeroRows?.get(p.ib)),
  ];
  for (const t of p.tensors) {
    if (!t.cmp || !isParameter(t.a) || !t.statsA || !t.statsB) continue;
    const na = t.statsA.l2_norm ?? 0;
    const nb = t.statsB.l2_norm ?? 0;
    if (na > 0 && nb > 0) {
      const ratio = nb / na;
      const up = ratio >= T.normRatioWarning;
      const down = ratio <= 1 / T.normRatioWarning;
      if (up || down) {
        const critical = up ? ratio >= T.normRatioCritical : ratio <= 1 / T.normRatioCritical;
        findings.push({
          type: up ? 'exploding' : 'vanishing',
          severity: critical ? 'critical' : 'warning',
          model: p.b.path,
          tensors: [t.name],
          detail: `l2 norm ${fmt(na)} -> ${fmt(nb)} (x${fmt(ratio)}) relative to the same tensor in ${p.a.path}`,
          value: ratio,
        });
      }
    }
    const rel = relChange(t.cmp);
    if (rel !== null && rel > T.suddenWarning) {
      findings.push({
        type: 'sudden_change',
        severity: rel > T.suddenCritical ? 'critical' : 'warning',
        model: p.b.path,
        tensors: [t.name],
        detail: `relative L2 change ${fmt(rel)} (threshold ${T.suddenWarning})`,
        value: rel,
      });
    }
  }
  const order = { critical: 0, warning: 1, info: 2 };
  findings.sort((x, y) => order[x.severity] - order[y.severity] || (x.tensors[0]! < y.tensors[0]! ? -1 : x.tensors[0]! > y.tensors[0]! ? 1 : 0));
  const count = (s: Finding['severity']) => findings.filter((f) => f.severity === s).length;
  const checked = [...statsA, ...statsB].filter((t) => t.stats.nan_count !== null).length;
  const data = {
    ...pairData(p),
    tensors_checked: checked,
    findings_total: findings.length,
    critical: count('critical'),
    warning: count('warning'),
    info: count('info'),
    findings,
  };
  const summary =
    findings.length === 0
      ? `no anomalies found (${checked} tensors checked${checked === 0 ? ': values not read' : ''})${pairLabel(c, p)}`
      : `findings=${findings.length} (critical=${data.critical}, warning=${data.warning}, info=${data.info})${pairLabel(c, p)}`;
  const details = findings.map((f) => `[${f.severity}] ${f.type}: ${f.tensors.join(', ')} in ${f.model}: ${f.detail}`);
  const table = {
    columns: ['severity', 'type', 'tensors', 'model', 'detail'],
    rows: findings.map((f) => [f.severity, f.type, f.tensors.join(', '), f.model, f.detail]),
  };
  return { summary, details, data, table };
}

export type AnomalyData = ReturnType<typeof anomalyDetection>['data'];

const plugin: PairAnalysis<AnomalyData> = {
  key: 'AnomalyDetection',
  label: 'anomaly_detection',
  scope: 'pair',
  needs: ['zeroRows'],
  analyze: anomalyDetection,
};
export default plugin;
