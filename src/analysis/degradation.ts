/**
 * Alert on degradation (--alert-on-degradation, gate `degradation`): between consecutive
 * checkpoints, a stored loss-like metric that rises or an accuracy-like metric that falls by
 * more than METRIC_TOLERANCE (relative); and, when bounds are given, fidelity to the
 * previous model below --min-sqnr (dB) or --min-cosine over the parameters.
 */
import { cosine, fmt, parameterTensors, sumCompare } from './helpers.js';
import { LOSS_TOLERANCE, storedMetrics } from './learning-progress.js';
import { notApplicable, summaryFields, type NotApplicable } from './summary.js';
import type { Collected, SequenceAnalysis } from './types.js';

/** A metric moving the wrong way by more than this (relative to its earlier value) alerts; the learning-progress plateau band. */
export const METRIC_TOLERANCE = LOSS_TOLERANCE;

/** Lower is better: names containing these. */
const LOWER_BETTER = /loss|perplexity|ppl|error|err\b|wer|cer|mse|mae|rmse/i;
/** Higher is better. */
const HIGHER_BETTER = /acc|accuracy|f1|precision|recall|auc|bleu|rouge|map|top1|top5|score|iou|dice/i;

export function metricDirection(name: string): 'lower' | 'higher' | null {
  if (LOWER_BETTER.test(name)) return 'lower';
  if (HIGHER_BETTER.test(name)) return 'higher';
  return null;
}

export interface Alert {
  kind: 'metric' | 'sqnr' | 'cosine';
  name: string;
  from: string;
  to: string;
  a: number | null;
  b: number;
  /** Relative change of a metric, or the bound a fidelity value fell below. */
  change_or_bound: number;
  detail: string;
}

export function degradationAlerts(c: Collected) {
  const { minSqnrDb, minCosine } = c.degradation;
  const metrics = c.models.map((_, m) => storedMetrics(c, m));
  const watched = [...new Set(metrics.flatMap((ms) => Object.keys(ms)))].filter((k) => metricDirection(k) !== null).sort();
  if (watched.length === 0 && minSqnrDb === undefined && minCosine === undefined)
    return notApplicable('no stored loss or accuracy-like metric, and no --min-sqnr/--min-cosine given');
  const alerts: Alert[] = [];
  const checks: Array<Record<string, unknown>> = [];
  c.pairs.forEach((p, k) => {
    const [from, to] = [p.a.path, p.b.path];
    for (const name of watched) {
      const a = metrics[k]![name];
      const b = metrics[k + 1]![name];
      if (a === undefined || b === undefined) continue;
      const change = a !== 0 ? (b - a) / Math.abs(a) : b === a ? 0 : Math.sign(b - a) * Infinity;
      const worse = metricDirection(name) === 'lower' ? change > METRIC_TOLERANCE : change < -METRIC_TOLERANCE;
      checks.push({ kind: 'metric', name, from, to, a, b, change });
      if (worse)
        alerts.push({ kind: 'metric', name, from, to, a, b, change_or_bound: change, detail: `${name} ${fmt(a)} -> ${fmt(b)} (${fmt(change)} relative)` });
    }
    if (minSqnrDb === undefined && minCosine === undefined) return;
    const total = sumCompare(parameterTensors(p).flatMap((t) => (t.cmp ? [t.cmp] : [])));
    const sqnr = total.sumSqDiff > 0 && total.sumAA > 0 ? 10 * Math.log10(total.sumAA / total.sumSqDiff) : total.sumSqDiff === 0 ? Infinity : null;
    const cos = cosine(total);
    checks.push({ kind: 'fidelity', from, to, sqnr_db: sqnr, cosine: cos });
    if (minSqnrDb !== undefined && sqnr !== null && sqnr < minSqnrDb)
      alerts.push({ kind: 'sqnr', name: 'sqnr_db', from, to, a: null, b: sqnr, change_or_bound: minSqnrDb, detail: `SQNR ${fmt(sqnr)} dB < ${minSqnrDb} dB` });
    if (minCosine !== undefined && cos !== null && cos < minCosine)
      alerts.push({ kind: 'cosine', name: 'cosine', from, to, a: null, b: cos, change_or_bound: minCosine, detail: `cosine ${fmt(cos)} < ${minCosine}` });
  });
  const data = {
    models: c.models.map((m) => m.path),
    alerts_fired: alerts.length,
    alerts,
    metrics_watched: watched,
    bounds: { metric_tolerance: METRIC_TOLERANCE, min_sqnr_db: minSqnrDb ?? null, min_cosine: minCosine ?? null },
    checks,
  };
  const summary = summaryFields([
    ['alerts', `${alerts.length}`],
    ['status', alerts.length > 0 ? 'degraded' : 'ok'],
    ['first', alerts[0] ? alerts[0].name : 'none'],
  ]);
  const details = [
    `watched: ${watched.join(', ') || 'no stored metric'}${minSqnrDb !== undefined ? `; min SQNR ${minSqnrDb} dB` : ''}${minCosine !== undefined ? `; min cosine ${minCosine}` : ''}`,
    ...alerts.map((x) => `ALERT ${x.from} -> ${x.to}: ${x.detail}`),
  ];
  return { summary, details, data };
}

export type DegradationData = Exclude<ReturnType<typeof degradationAlerts>['data'], NotApplicable> | NotApplicable;

const plugin: SequenceAnalysis<DegradationData> = {
  key: 'AlertOnDegradation',
  label: 'alert_on_degradation',
  marker: '🚨',
  scope: 'sequence',
  analyze: degradationAlerts,
  fails: (d) => Array.isArray(d.alerts) && d.alerts.length > 0,
};
export default plugin;
