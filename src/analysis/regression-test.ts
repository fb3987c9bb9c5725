/**
 * Regression test (--regression-test, gate `regression`): B passes when it holds the same
 * tensors with the same shapes as A and every element satisfies |b − a| ≤ atol + rtol·|a|,
 * torch.testing.assert_close's closeness with its per-dtype defaults (or --rtol/--atol).
 */
import { fmt, pairData, pairLabel } from './helpers.js';
import { summaryFields } from './summary.js';
import type { Collected, PairAnalysis, PairData } from './types.js';

const MAX_LISTED = 20;

/** Logical index → multi-index in C order. */
function unravel(index: number, shape: number[]): number[] {
  const out = new Array<number>(shape.length).fill(0);
  let rest = index;
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = rest % shape[d]!;
    rest = Math.floor(rest / shape[d]!);
  }
  return out;
}

export function regressionTest(c: Collected, p: PairData) {
  const k = c.pairs.indexOf(p);
  const checks = c.passes.tolerances?.get(k) ?? new Map();
  const removed = p.tensors.filter((t) => t.a && !t.b).map((t) => t.name);
  const added = p.tensors.filter((t) => !t.a && t.b).map((t) => t.name);
  const reshaped = p.tensors.filter((t) => t.a && t.b && t.a.shape.join() !== t.b.shape.join()).map((t) => `${t.name} [${t.a!.shape}] -> [${t.b!.shape}]`);
  const retyped = p.tensors.filter((t) => t.a && t.b && t.a.dtype !== t.b.dtype).map((t) => `${t.name} ${t.a!.dtype} -> ${t.b!.dtype}`);
  const notChecked = p.tensors.filter((t) => t.a && t.b && t.a.shape.join() === t.b.shape.join() && !checks.has(t.name)).map((t) => t.name);
  const tensors = [...checks].map(([name, x]) => {
    const t = p.tensors.find((pt) => pt.name === name)!;
    return { name, numel: t.a!.numel, atol: x.atol, rtol: x.rtol, tolerance_of: x.source, ...x.result, shape: t.a!.shape };
  });
  const elements = tensors.reduce((s, t) => s + t.numel, 0);
  const violations = tensors.reduce((s, t) => s + t.violations, 0);
  const failing = tensors.filter((t) => t.violations > 0).sort((x, y) => y.violations / y.numel - x.violations / x.numel);
  const worstAbs = tensors.reduce<(typeof tensors)[number] | undefined>((w, t) => (t.maxAbsIndex >= 0 && (!w || t.maxAbs > w.maxAbs) ? t : w), undefined);
  const structural = removed.length + added.length + reshaped.length;
  const passed = structural === 0 && violations === 0 && notChecked.length === 0;
  const worst = worstAbs
    ? { tensor: worstAbs.name, index: unravel(worstAbs.maxAbsIndex, worstAbs.shape), abs_diff: worstAbs.maxAbs, atol: worstAbs.atol, rtol: worstAbs.rtol }
    : null;
  const list = (xs: string[]) => (xs.length > MAX_LISTED ? [...xs.slice(0, MAX_LISTED), `… ${xs.length - MAX_LISTED} more`] : xs);
  const data = {
    ...pairData(p),
    passed,
    structural_equal: structural === 0,
    removed: list(removed),
    added: list(added),
    reshaped: list(reshaped),
    retyped: list(retyped),
    not_checked: list(notChecked),
    tensors_checked: tensors.length,
    tensors_failed: failing.length,
    elements_checked: elements,
    elements_mismatched: violations,
    mismatched_share: elements > 0 ? violations / elements : null,
    worst,
    failing: failing.slice(0, MAX_LISTED).map((t) => ({
      name: t.name,
      mismatched: t.violations,
      of: t.numel,
      non_finite: t.nonFinite,
      max_abs_diff: t.maxAbs,
      at: t.maxAbsIndex >= 0 ? unravel(t.maxAbsIndex, t.shape) : null,
      max_rel_diff: t.maxRel,
      atol: t.atol,
      rtol: t.rtol,
      tolerance_of: t.tolerance_of,
    })),
  };
  const worstText = worst ? `${worst.tensor}[${worst.index.join(',')}]` : 'none';
  const summary = `${summaryFields([
    ['result', passed ? 'passed' : 'failed'],
    ['mismatched', `${violations}/${elements}`],
    ['share', data.mismatched_share],
    ['structural', structural === 0 ? 'equal' : `${structural}_differences`],
    ['worst', worstText],
    ['max_abs_diff', worst?.abs_diff ?? null],
  ])}${pairLabel(c, p)}`;
  const details = [
    `${tensors.length} tensors checked, |b - a| <= atol + rtol*|a| with ${[...new Set(tensors.map((t) => `${t.tolerance_of}: atol=${t.atol}, rtol=${t.rtol}`))].join('; ') || 'no tensor'}`,
    ...(structural > 0 ? [`structure differs: ${removed.length} removed, ${added.length} added, ${reshaped.length} reshaped`] : []),
    ...[...removed.map((n) => `removed ${n}`), ...added.map((n) => `added ${n}`), ...reshaped.map((n) => `reshaped ${n}`)].slice(0, MAX_LISTED),
    ...(retyped.length > 0
      ? [`${retyped.length} tensors changed dtype (checked at A's tolerance): ${retyped.slice(0, 5).join(', ')}${retyped.length > 5 ? ', …' : ''}`]
      : []),
    ...(notChecked.length > 0 ? [`not checked (not read): ${notChecked.slice(0, 5).join(', ')}`] : []),
    ...data.failing.map(
      (t) => `${t.name}: ${t.mismatched}/${t.of} mismatched, max |b-a|=${fmt(t.max_abs_diff)} at [${t.at?.join(',') ?? ''}], max rel=${fmt(t.max_rel_diff)}`,
    ),
  ];
  return { summary, details, data };
}

export type RegressionTestData = ReturnType<typeof regressionTest>['data'];

const plugin: PairAnalysis<RegressionTestData> = {
  key: 'RegressionTest',
  label: 'regression_test',
  scope: 'pair',
  needs: ['tolerances'],
  analyze: regressionTest,
  fails: (d) => !d.passed,
};
export default plugin;
