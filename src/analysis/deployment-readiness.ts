/**
 * Deployment readiness (--deployment-readiness, gate `--fail-on deployment`): a checklist on
 * the candidate B against the baseline A, each check with its measured value; the verdict is
 * `blocked` when a check fails, otherwise `ready`.
 */
import type { DType } from '../dtypes.js';
import { modelViewOf } from '../model/view.js';
import { pairData, pairLabel } from './helpers.js';
import { summaryFields } from './summary.js';
import type { Collected, PairAnalysis, PairData } from './types.js';

/**
 * Dtypes every mainstream runtime loads and computes in (PyTorch with full operator support,
 * ONNX Runtime, TensorRT for the float ones): not the 8-bit floats (hardware-specific: Hopper
 * / Ada with Transformer Engine or TensorRT), complex numbers, or unsigned 16/32/64-bit
 * integers (PyTorch gives these "limited support": no arithmetic before 2.3).
 */
export const RUNTIME_DTYPES: ReadonlySet<DType> = new Set<DType>(['f64', 'f32', 'f16', 'bf16', 'i64', 'i32', 'i16', 'i8', 'u8', 'bool']);

/** Roles that `load_state_dict` receives: parameters, buffers and quantized weights. */
const STATE_ROLES = new Set(['parameter', 'buffer', 'quantized']);

export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface Check {
  name: string;
  status: CheckStatus;
  /** The measured value the status was decided from. */
  value: number | null;
  detail: string;
  /** Offending names (at most MAX_LISTED). */
  items?: string[];
}

const MAX_LISTED = 20;

export function deploymentReadiness(c: Collected, p: PairData) {
  const vb = modelViewOf(p.b);
  const va = modelViewOf(p.a);
  const checks: Check[] = [];
  const list = (xs: string[]) => (xs.length > MAX_LISTED ? [...xs.slice(0, MAX_LISTED), `… ${xs.length - MAX_LISTED} more`] : xs);

  // 1. Non-finite values, over every tensor of B as the diff pass read it.
  const read = p.tensors.filter((t) => t.b && t.statsB);
  const bad = read.filter((t) => (t.statsB!.nan_count ?? 0) + (t.statsB!.posinf_count ?? 0) + (t.statsB!.neginf_count ?? 0) > 0);
  const nonFinite = bad.reduce((s, t) => s + (t.statsB!.nan_count ?? 0) + (t.statsB!.posinf_count ?? 0) + (t.statsB!.neginf_count ?? 0), 0);
  const unread = p.tensors.filter((t) => t.b && !t.statsB).length;
  checks.push({
    name: 'finite_values',
    status: nonFinite > 0 ? 'fail' : unread > 0 ? 'warn' : 'pass',
    value: nonFinite,
    detail: `${nonFinite} NaN/Inf elements${bad.length > 0 ? ` in ${bad.length} of` : ' in'} ${read.length} tensors${unread > 0 ? `; ${unread} tensors not read (--shape-only or filtered)` : ''}`,
    items: list(bad.map((t) => t.name)),
  });

  // 2. Dtypes a runtime supports.
  const odd = p.b.tensors.filter((t) => !RUNTIME_DTYPES.has(t.dtype));
  checks.push({
    name: 'runtime_dtypes',
    status: odd.length > 0 ? 'fail' : 'pass',
    value: odd.length,
    detail:
      odd.length > 0
        ? `${odd.length} tensors in dtypes outside ${[...RUNTIME_DTYPES].join('/')}: ${[...new Set(odd.map((t) => t.dtype))].join(', ')}`
        : `every dtype is one of ${[...new Set(p.b.tensors.map((t) => t.dtype))].join(', ') || 'none'}`,
    items: list(odd.map((t) => `${t.name} (${t.dtype})`)),
  });

  // 3. Optimizer state is training baggage: it makes the file larger but does not block loading.
  const totals = vb.totals();
  const allBytes = Object.values(totals).reduce((s, r) => s + r.bytes, 0);
  const share = allBytes > 0 ? totals.optimizer_state.bytes / allBytes : 0;
  checks.push({
    name: 'optimizer_state',
    status: totals.optimizer_state.tensors > 0 ? 'warn' : 'pass',
    value: share,
    detail: `${totals.optimizer_state.tensors} optimizer-state tensors, ${totals.optimizer_state.bytes} of ${allBytes} tensor bytes (${(share * 100).toFixed(1)}%)${totals.optimizer_state.tensors > 0 ? ': training state, strip it for deployment' : ''}`,
  });

  // 4. Strict load_state_dict against the baseline: missing, unexpected and size-mismatched keys.
  const stateNames = (v: typeof va) =>
    new Map([...v.entries.values()].filter((e) => STATE_ROLES.has(e.role)).map((e) => [e.name, e.descriptor.shape.join('x')]));
  const sa = stateNames(va);
  const sb = stateNames(vb);
  const missing = [...sa.keys()].filter((n) => !sb.has(n));
  const unexpected = [...sb.keys()].filter((n) => !sa.has(n));
  const mismatched = [...sa].filter(([n, shape]) => sb.has(n) && sb.get(n) !== shape).map(([n, shape]) => `${n} ${shape} -> ${sb.get(n)}`);
  const keyProblems = missing.length + unexpected.length + mismatched.length;
  checks.push({
    name: 'state_dict_keys',
    status: keyProblems > 0 ? 'fail' : 'pass',
    value: keyProblems,
    detail: `strict load_state_dict over ${sa.size} parameters and buffers of the baseline: ${missing.length} missing, ${unexpected.length} unexpected, ${mismatched.length} size mismatches`,
    items: list([...missing.map((n) => `missing ${n}`), ...unexpected.map((n) => `unexpected ${n}`), ...mismatched.map((n) => `size ${n}`)]),
  });

  // 5. Ties of the baseline kept: an untied copy loads, but the model's shared weight takes one of two values.
  const broken = p.results.filter((r) => r.kind === 'TieChanged' && r.a === 'tied' && r.b === 'untied').map((r) => r.name);
  checks.push({
    name: 'ties_preserved',
    status: broken.length > 0 ? 'fail' : 'pass',
    value: broken.length,
    detail: `${va.tieGroups.length} tie groups in the baseline, ${broken.length} names untied in the candidate`,
    items: list(broken),
  });

  // 6. Pickle globals: the reader refuses any pickle that calls outside torch's weights_only set.
  const pickled = p.b.format === 'pytorch';
  checks.push({
    name: 'pickle_globals',
    status: 'pass',
    value: 0,
    detail: pickled
      ? 'the reader refuses pickles calling globals outside the weights_only allow-list (docs/pytorch-safety.md); this one was read, so none'
      : `no pickle (${p.b.format})`,
  });

  const failing = checks.filter((x) => x.status === 'fail').map((x) => x.name);
  const warnings = checks.filter((x) => x.status === 'warn').map((x) => x.name);
  const verdict = failing.length > 0 ? 'blocked' : 'ready';
  const data = { ...pairData(p), baseline: p.a.path, candidate: p.b.path, verdict, failing, warnings, checks };
  const summary = `${summaryFields([
    ['verdict', verdict],
    ['checks', `${checks.length}`],
    ['failed', failing.length > 0 ? failing.join('+') : 'none'],
    ['warnings', warnings.length > 0 ? warnings.join('+') : 'none'],
  ])}${pairLabel(c, p)}`;
  const details = checks.flatMap((x) => [
    `${x.status.toUpperCase()} ${x.name}: ${x.detail}`,
    ...(x.status === 'pass' ? [] : (x.items ?? []).map((i) => `  ${i}`)),
  ]);
  const table = { columns: ['check', 'status', 'value', 'detail'], rows: checks.map((x) => [x.name, x.status, x.value, x.detail]) };
  return { summary, details, data, table };
}

export type DeploymentReadinessData = ReturnType<typeof deploymentReadiness>['data'];

const plugin: PairAnalysis<DeploymentReadinessData> = {
  key: 'DeploymentReadiness',
  label: 'deployment_readiness',
  scope: 'pair',
  analyze: deploymentReadiness,
  fails: (d) => d.verdict === 'blocked',
};
export default plugin;
