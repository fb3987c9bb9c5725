/**
 * Gathers what the analyses need in the same streaming passes as the diff: the diff of each
 * consecutive pair of models runs with a hook that keeps every tensor's partials (stats of
 * A and B, comparison). Extra reads happen only for the passes the selected analyses
 * declare in `needs` (src/analysis/passes.ts), and not at all with `shapeOnly`.
 */
import { Executor } from '../engine/executor.js';
import { diffModels, planBytes, planDiff, type TensorEvent } from '../diff/differ.js';
import { tensorStats } from '../diff/stats.js';
import type { ModelDescription } from '../formats/types.js';
import { withModels } from '../load.js';
import type { LibraryOptions } from '../library.js';
import { GramSpectra } from './gram-spectrum.js';
import { PASSES, type PassContext } from './passes.js';
import type { Collected, PairData, PairTensor, PassName, PassOutputs } from './types.js';

export interface CollectOptions extends LibraryOptions {
  /** The extra passes to run (the union of the selected analyses' `needs`). */
  needs: Set<PassName>;
}

export function collect(paths: string[], options: CollectOptions): Promise<Collected> {
  return withModels(paths, options, (models) => collectDescribed(models, options));
}

async function collectDescribed(models: ModelDescription[], options: CollectOptions): Promise<Collected> {
  const plans = models.slice(1).map((b, k) => planDiff(models[k]!, b, options));
  const total = plans.reduce((sum, plan) => sum + planBytes(plan, options), 0);
  options.onTotalBytes?.(total);
  const executor = new Executor(options, total);
  try {
    const pairs: PairData[] = [];
    for (let k = 0; k + 1 < models.length; k++) {
      const a = models[k]!;
      const b = models[k + 1]!;
      const seen = new Map<string, PairTensor>();
      const onTensor = (e: TensorEvent) => {
        seen.set(e.name, {
          name: e.name,
          a: e.a,
          b: e.b,
          statsA: e.a ? tensorStats(e.a, e.partialsA) : undefined,
          statsB: e.b ? tensorStats(e.b, e.partialsB) : undefined,
          cmp: e.comparison,
        });
      };
      const results = await diffModels(a, b, executor, { ...options, onTensor }, plans[k]);
      const tensors = [...seen.values()].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
      pairs.push({ ia: k, ib: k + 1, a, b, results, tensors });
    }
    const passes: Partial<PassOutputs> = {};
    if (!options.shapeOnly) {
      const ctx: PassContext = { models, pairs, executor, options, gram: new GramSpectra() };
      for (const name of Object.keys(PASSES) as PassName[]) if (options.needs.has(name)) await runPass(name, ctx, passes);
    }
    return { models, pairs, passes, degradation: options.degradation ?? {}, inference: options.inference ?? {} };
  } finally {
    await executor.close();
  }
}

async function runPass<K extends PassName>(name: K, ctx: PassContext, out: Partial<PassOutputs>): Promise<void> {
  out[name] = await PASSES[name](ctx);
}
