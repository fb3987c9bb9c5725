/**
 * Risk assessment (--risk-assessment): the documented rules that fired on B against A, each
 * with its measured value; the level is the worst fired rule's severity (no score).
 */
import { fmt, groupBy, isParameter, layerOf, pairData, pairLabel, parameterTensors, relChange, roleIn, sumCompare } from './helpers.js';
import { summaryFields } from './summary.js';
import type { Collected, PairAnalysis, PairData } from './types.js';

export const RISK_LEVELS = ['none', 'low', 'medium', 'high', 'critical'] as const;
export type RiskLevel = (typeof RISK_LEVELS)[number];

/**
 * Bounds of the rules. SQNR over all parameters: below 15 dB is the int4 class of the
 * quantization bins (`moderate` loss or worse, high), below 30 dB the bf16/int8 class
 * boundary (medium). Output layer relative change: a policy, not a calibration: above 0.1
 * (the head moved by a tenth of its norm) medium, above 1 (by more than its norm) high.
 */
export const RISK_BOUNDS = { sqnrHighDb: 15, sqnrMediumDb: 30, outputChangeMedium: 0.1, outputChangeHigh: 1 };

export interface RiskRule {
  rule: string;
  severity: Exclude<RiskLevel, 'none'>;
  value: number;
  detail: string;
  tensors?: string[];
}

const MAX_LISTED = 20;

/** Last name components of output heads (torchvision `fc`/`classifier`/`head`, Hugging Face `lm_head`/`score`/`qa_outputs`, …). */
export const HEAD_NAMES = new Set(['lm_head', 'classifier', 'head', 'fc', 'score', 'qa_outputs', 'output']);

/**
 * The output layer of A: the last layer with a 2+-D parameter whose last name component is
 * a head name; else the last layer with a 2+-D parameter in the file's order (torch
 * state_dicts list modules in registration order, so the head comes last).
 */
export function outputLayer(p: PairData): string | undefined {
  const layers = p.a.tensors.filter((t) => t.shape.length >= 2 && isParameter(p.a, t)).map((t) => layerOf(t.name));
  return layers.filter((l) => HEAD_NAMES.has(l.slice(l.lastIndexOf('.') + 1))).at(-1) ?? layers.at(-1);
}

export function riskAssessment(c: Collected, p: PairData) {
  const fired: RiskRule[] = [];
  const list = (xs: string[]) => (xs.length > MAX_LISTED ? [...xs.slice(0, MAX_LISTED), `… ${xs.length - MAX_LISTED} more`] : xs);
  const nonFinite = (t: PairData['tensors'][number], side: 'statsA' | 'statsB') => {
    const s = t[side];
    return s ? (s.nan_count ?? 0) + (s.posinf_count ?? 0) + (s.neginf_count ?? 0) : 0;
  };
  const nf = p.tensors.filter((t) => nonFinite(t, 'statsB') > 0);
  if (nf.length > 0) {
    const count = nf.reduce((s, t) => s + nonFinite(t, 'statsB'), 0);
    fired.push({ rule: 'non_finite', severity: 'critical', value: count, detail: `${count} NaN/Inf elements in B`, tensors: list(nf.map((t) => t.name)) });
  }
  // Structure of the state B would load: parameters, buffers and quantized weights.
  const state = p.tensors.filter(
    (t) => (t.a ? roleIn(p.a, t.name) : roleIn(p.b, t.name)) !== 'optimizer_state' && (t.a ? roleIn(p.a, t.name) : roleIn(p.b, t.name)) !== 'scalar',
  );
  const removed = state.filter((t) => t.a && !t.b).map((t) => t.name);
  const reshaped = state.filter((t) => t.a && t.b && t.a.shape.join() !== t.b.shape.join()).map((t) => t.name);
  const added = state.filter((t) => !t.a && t.b).map((t) => t.name);
  if (removed.length > 0)
    fired.push({
      rule: 'removed_tensors',
      severity: 'high',
      value: removed.length,
      detail: `${removed.length} tensors of A missing in B`,
      tensors: list(removed),
    });
  if (reshaped.length > 0)
    fired.push({
      rule: 'reshaped_tensors',
      severity: 'high',
      value: reshaped.length,
      detail: `${reshaped.length} tensors changed shape`,
      tensors: list(reshaped),
    });
  if (added.length > 0)
    fired.push({ rule: 'added_tensors', severity: 'medium', value: added.length, detail: `${added.length} tensors only in B`, tensors: list(added) });
  const untied = p.results.filter((r) => r.kind === 'TieChanged' && r.a === 'tied' && r.b === 'untied').map((r) => r.name);
  if (untied.length > 0)
    fired.push({
      rule: 'broken_ties',
      severity: 'high',
      value: untied.length,
      detail: `${untied.length} names tied in A are untied in B`,
      tensors: list(untied),
    });

  const compared = parameterTensors(p).filter((t) => t.cmp);
  const total = sumCompare(compared.map((t) => t.cmp!));
  const sqnr = total.sumSqDiff > 0 && total.sumAA > 0 ? 10 * Math.log10(total.sumAA / total.sumSqDiff) : null;
  if (sqnr !== null && sqnr < RISK_BOUNDS.sqnrMediumDb)
    fired.push({
      rule: 'low_sqnr',
      severity: sqnr < RISK_BOUNDS.sqnrHighDb ? 'high' : 'medium',
      value: sqnr,
      detail: `SQNR of B against A over all parameters ${fmt(sqnr)} dB (< ${sqnr < RISK_BOUNDS.sqnrHighDb ? RISK_BOUNDS.sqnrHighDb : RISK_BOUNDS.sqnrMediumDb} dB)`,
    });
  const head = outputLayer(p);
  const headTensors = head === undefined ? [] : (groupBy(compared, (t) => layerOf(t.name)).get(head) ?? []);
  const headChange = headTensors.length > 0 ? relChange(sumCompare(headTensors.map((t) => t.cmp!))) : null;
  if (headChange !== null && headChange > RISK_BOUNDS.outputChangeMedium)
    fired.push({
      rule: 'output_layer_change',
      severity: headChange > RISK_BOUNDS.outputChangeHigh ? 'high' : 'medium',
      value: headChange,
      detail: `relative L2 change of the output layer ${head} ${fmt(headChange)}`,
      tensors: headTensors.map((t) => t.name),
    });

  const rank = (l: RiskLevel) => RISK_LEVELS.indexOf(l);
  const ordered = [...fired].sort((x, y) => rank(y.severity) - rank(x.severity));
  const level: RiskLevel = ordered[0]?.severity ?? 'none';
  const data = {
    ...pairData(p),
    level,
    rules_fired: fired.length,
    worst_rule: ordered[0]?.rule ?? null,
    rules: ordered,
    measured: { sqnr_db: sqnr, output_layer: head ?? null, output_layer_rel_change: headChange },
    bounds: RISK_BOUNDS,
  };
  const summary = `${summaryFields([
    ['level', level],
    ['rules_fired', `${fired.length}`],
    ['worst', ordered[0]?.rule ?? 'none'],
  ])}${pairLabel(c, p)}`;
  const details = [
    `measured: sqnr=${sqnr === null ? 'none' : `${fmt(sqnr)} dB`} over ${compared.length} parameter tensors, output layer ${head ?? 'none'} rel change ${fmt(headChange)}`,
    ...ordered.map(
      (r) =>
        `${r.severity} ${r.rule}: ${r.detail}${r.tensors && r.tensors.length > 0 ? ` (${r.tensors.slice(0, 5).join(', ')}${r.tensors.length > 5 ? ', …' : ''})` : ''}`,
    ),
  ];
  const table = { columns: ['rule', 'severity', 'value', 'detail'], rows: ordered.map((r) => [r.rule, r.severity, r.value, r.detail]) };
  return { summary, details, data, table };
}

export type RiskAssessmentData = ReturnType<typeof riskAssessment>['data'];

const plugin: PairAnalysis<RiskAssessmentData> = {
  key: 'RiskAssessment',
  label: 'risk_assessment',
  scope: 'pair',
  analyze: riskAssessment,
};
export default plugin;
