/**
 * Every analysis, in the order results are reported (pairwise ones pair by pair, then the
 * sequence ones). A line names the option, its help text, the further options it takes (with
 * what they accept: the command line and the library's checks read them here) and the
 * module that implements it; modules load only when their analysis is asked for, so a plain
 * diff starts light. Adding an analysis: one module exporting an AnalysisPlugin as default,
 * plus one line here.
 */
import type { AnalysisPlugin, PassName } from './types.js';
import { DiffaiError } from '../errors.js';
import { DEVICE_NAMES, DEFAULT_DEVICE } from './device-profiles.js';
import { type AnalysisOption, choiceOption, dimsOption, integerIn, isNonNegative, isPositive, isPositiveInteger, nameOption, numberOption } from './options.js';

export interface AnalysisRegistration {
  /** Command-line option (`--<flag>`). */
  flag: string;
  /** Help text of the option. */
  describe: string;
  /** The `--fail-on` value of this analysis's CI gate (its plug-in's `fails` decides). */
  gate?: string;
  /** Showing the analysis also applies its gate (`--regression-test`). */
  impliesGate?: boolean;
  /** Options that tune it (src/analysis/options.ts); one several analyses share is one object, listed by each. */
  options?: readonly AnalysisOption[];
  load(): Promise<AnalysisPlugin>;
}

/** Largest `--rank-k` of --low-rank-delta: each 64 more values cost another pass over A and B per product. */
export const LOW_RANK_MAX_K = 256;
/** Largest `--clusters` of --clustering-change. */
export const MAX_CLUSTERS = 256;

/** Query and key/value heads, for the three attention analyses. */
const HEAD_OPTIONS = [
  numberOption(
    {
      flag: 'num-heads',
      value: 'N',
      describe: 'Attention analyses: query heads per layer (default: config.json beside the model, or the file metadata)',
      target: ['numHeads'],
    },
    'a positive integer',
    isPositiveInteger,
  ),
  numberOption(
    {
      flag: 'num-kv-heads',
      value: 'N',
      describe: 'Attention analyses: key/value heads (grouped-query attention; default: from the shapes, checked against this)',
      target: ['numKvHeads'],
    },
    'a positive integer',
    isPositiveInteger,
  ),
];

/** Loads a module whose default export is the plug-in (typed as the common plug-in type). */
function lazy(load: () => Promise<{ default: AnalysisPlugin }>): () => Promise<AnalysisPlugin> {
  return () => load().then((m) => m.default);
}

export const ANALYSES = {
  changeSummary: {
    flag: 'change-summary',
    describe: 'Counts by kind, elements changed, top tensors by relative change',
    load: lazy(() => import('./change-summary.js')),
  },
  layerImpact: {
    flag: 'show-layer-impact',
    describe: 'Per layer: relative L2 change and share of the total change, ranked',
    load: lazy(() => import('./layer-impact.js')),
  },
  quantization: {
    flag: 'quantization-analysis',
    describe: 'Tensors whose dtype or quantization changed: bytes, compression, error (max abs, RMSE, SQNR, cosine)',
    load: lazy(() => import('./quantization.js')),
  },
  architecture: {
    flag: 'architecture-comparison',
    describe: 'Parameter counts, layers, depth, family inferred from names, layers added/removed/reshaped',
    load: lazy(() => import('./architecture.js')),
  },
  memory: { flag: 'memory-analysis', describe: 'Bytes by dtype, delta, inference weight memory, largest tensors', load: lazy(() => import('./memory.js')) },
  anomalies: {
    flag: 'anomaly-detection',
    describe: 'NaN/Inf, all-zero tensors and rows, exploding/vanishing tensors, sudden changes',
    gate: 'anomalies',
    load: lazy(() => import('./anomalies.js')),
  },
  gradients: {
    flag: 'gradient-analysis',
    describe: 'Per layer norms of optimizer state (exp_avg, exp_avg_sq, momentum); else the update dW',
    load: lazy(() => import('./gradients.js')),
  },
  convergence: {
    flag: 'convergence-analysis',
    describe: 'Per layer update size ||dW||/||W|| along the checkpoints, and its trend',
    load: lazy(() => import('./convergence.js')),
  },
  hyperparameters: {
    flag: 'hyperparameter-impact',
    describe: 'Stored hyperparameters that differ (param_groups, step, epoch, args, config.json) beside the per-layer change',
    load: lazy(() => import('./hyperparameter-impact.js')),
  },
  deployment: {
    flag: 'deployment-readiness',
    describe: 'Checklist on B against A: NaN/Inf, runtime dtypes, optimizer state, strict state_dict keys, ties; verdict ready/blocked',
    gate: 'deployment',
    load: lazy(() => import('./deployment-readiness.js')),
  },
  risk: {
    flag: 'risk-assessment',
    describe: 'Documented rules that fired (NaN/Inf, low SQNR, removed/reshaped tensors, broken ties, output layer change); level of the worst',
    load: lazy(() => import('./risk-assessment.js')),
  },
  regression: {
    flag: 'regression-test',
    describe:
      'Every element |b-a| <= atol + rtol*|a| (torch.testing.assert_close defaults per dtype, or --rtol/--atol) and the same structure; exit 1 when it fails',
    gate: 'regression',
    impliesGate: true,
    options: [
      numberOption(
        {
          flag: 'rtol',
          value: 'R',
          describe: '--regression-test: relative tolerance (default: per dtype, as torch.testing.assert_close)',
          target: ['tolerance', 'rtol'],
        },
        'a non-negative number',
        isNonNegative,
      ),
      numberOption(
        {
          flag: 'atol',
          value: 'A',
          describe: '--regression-test: absolute tolerance (default: per dtype, as torch.testing.assert_close)',
          target: ['tolerance', 'atol'],
        },
        'a non-negative number',
        isNonNegative,
      ),
    ],
    load: lazy(() => import('./regression-test.js')),
  },
  similarity: {
    flag: 'similarity-matrix',
    describe: 'Cosine similarity of parameters (overall and per layer) between every pair of models',
    load: lazy(() => import('./similarity.js')),
  },
  degradation: {
    flag: 'alert-on-degradation',
    describe: 'Alert when a stored loss rises or an accuracy falls between checkpoints, or fidelity is below --min-sqnr/--min-cosine; exit 1',
    gate: 'degradation',
    impliesGate: true,
    options: [
      numberOption(
        {
          flag: 'min-sqnr',
          value: 'DB',
          describe: '--alert-on-degradation: alert when the SQNR (dB) of a model against the previous one is below DB',
          target: ['degradation', 'minSqnrDb'],
        },
        'a number',
        Number.isFinite,
      ),
      numberOption(
        {
          flag: 'min-cosine',
          value: 'C',
          describe: '--alert-on-degradation: alert when the cosine similarity to the previous model is below C',
          target: ['degradation', 'minCosine'],
        },
        'a number',
        Number.isFinite,
      ),
    ],
    load: lazy(() => import('./degradation.js')),
  },
  learningProgress: {
    flag: 'learning-progress',
    describe: 'Distance from the first checkpoint, path efficiency, update per epoch/step, stored loss and its trend',
    load: lazy(() => import('./learning-progress.js')),
  },
  // Attention (issue 12): one pass (attentionHeads) serves the three.
  attention: {
    flag: 'attention-analysis',
    describe: 'Per attention layer and head: norms of the W_QK and W_OV circuits in A and B and their change; key bias flagged softmax-invariant',
    options: HEAD_OPTIONS,
    load: lazy(() => import('./attention-analysis.js')),
  },
  headImportance: {
    flag: 'head-importance',
    describe: 'Per head: weight-norm proxy ||W_OV||_F, its share of the layer and its change (a proxy: true importance needs data)',
    options: HEAD_OPTIONS,
    load: lazy(() => import('./head-importance.js')),
  },
  attentionPatterns: {
    flag: 'attention-pattern-diff',
    describe: 'Per head: subspace similarity (Hu et al. phi) of the top singular subspaces of W_QK between A and B; 1 = unchanged',
    options: HEAD_OPTIONS,
    load: lazy(() => import('./attention-pattern-diff.js')),
  },
  embedding: {
    flag: 'embedding-analysis',
    describe:
      'Embedding matrices (and an untied LM head): per-row cosine and norm drift, most drifted rows/tokens, kNN overlap, drift after Procrustes rotation, tie status',
    load: lazy(() => import('./embedding-analysis.js')),
  },
  clustering: {
    flag: 'clustering-change',
    describe: "Seeded k-means of one layer's rows (embedding, or --cluster-layer) in A and B: adjusted Rand index and NMI between the two",
    options: [
      numberOption(
        {
          flag: 'clusters',
          value: 'K',
          describe: `--clustering-change: clusters for k-means (2 to ${MAX_CLUSTERS}; default 8)`,
          target: ['clustering', 'clusters'],
        },
        `an integer from 2 to ${MAX_CLUSTERS}`,
        integerIn(2, MAX_CLUSTERS),
      ),
      nameOption(
        {
          flag: 'cluster-layer',
          value: 'NAME',
          describe: '--clustering-change: the tensor (or layer) whose rows are clustered (default: the token embedding, else the largest weight)',
          target: ['clustering', 'layer'],
        },
        'a tensor or layer name',
        '--cluster-layer needs a tensor or layer name',
      ),
    ],
    load: lazy(() => import('./clustering-change.js')),
  },
  lowRankDelta: {
    flag: 'low-rank-delta',
    describe: 'Per changed 2-D weight: top singular values of B-A (streamed randomized SVD), energy by rank, effective rank; finds merged LoRA updates',
    options: [
      numberOption(
        {
          flag: 'rank-k',
          value: 'K',
          describe: `--low-rank-delta: singular values computed per weight delta (default 32, at most ${LOW_RANK_MAX_K})`,
          target: ['rankK'],
        },
        `a whole number from 1 to ${LOW_RANK_MAX_K}`,
        integerIn(1, LOW_RANK_MAX_K),
      ),
    ],
    load: lazy(() => import('./low-rank-delta.js')),
  },
  spectral: {
    flag: 'spectral-analysis',
    describe: 'Per 2-D weight (min side >= 50): eigenvalue density of W^T W and its power-law exponent alpha (weightwatcher), A vs B',
    load: lazy(() => import('./spectral-analysis.js')),
  },
  learningRate: {
    flag: 'learning-rate-analysis',
    describe:
      'From optimizer state: the step Adam/AdamW (lr*m^/(sqrt(v^)+eps)) or SGD momentum (lr*buf) takes, per layer and relative to W; displacement per step against it',
    load: lazy(() => import('./learning-rate.js')),
  },
  paramEfficiency: {
    flag: 'param-efficiency-analysis',
    describe: 'Parameters (ties once, buffers apart), embedding vs non-embedding, bytes per parameter, per-matrix stable rank and effective rank',
    load: lazy(() => import('./param-efficiency.js')),
  },
  performanceImpact: {
    flag: 'performance-impact-estimate',
    describe: 'Weight-space estimate per matrix: ||dW||_F/||W||_F (SQNR) and ||dW||_2/||W||_2, summed along the network as a first-order output bound',
    load: lazy(() => import('./performance-impact.js')),
  },
  inferenceSpeed: {
    flag: 'inference-speed-estimate',
    describe: 'FLOPs from the architecture (transformers per token, torchvision ResNets for --input-shape), weight bytes, roofline time on --device-profile',
    options: [
      numberOption(
        {
          flag: 'context-length',
          value: 'N',
          describe: '--inference-speed-estimate: tokens of context for a transformer (default: config.json, else the position table)',
          target: ['inference', 'contextLength'],
        },
        'a positive integer',
        isPositiveInteger,
        true,
      ),
      dimsOption(
        {
          flag: 'input-shape',
          value: 'N,C,H,W',
          describe: '--inference-speed-estimate: input of a convolutional network, e.g. 1,3,224,224 (its first number is the batch of an MLP)',
          target: ['inference', 'inputShape'],
        },
        8,
      ),
      choiceOption(
        {
          flag: 'device-profile',
          value: 'NAME',
          describe: `--inference-speed-estimate: device for the roofline time (${DEVICE_NAMES.join(', ')}; default ${DEFAULT_DEVICE})`,
          target: ['inference', 'deviceProfile'],
        },
        DEVICE_NAMES,
      ),
      numberOption(
        { flag: 'peak-tflops', value: 'T', describe: "--inference-speed-estimate: peak TFLOPS in place of the profile's", target: ['inference', 'peakTflops'] },
        'a positive number',
        isPositive,
      ),
      numberOption(
        {
          flag: 'bandwidth-gbs',
          value: 'G',
          describe: "--inference-speed-estimate: memory bandwidth in GB/s in place of the profile's",
          target: ['inference', 'bandwidthGbs'],
        },
        'a positive number',
        isPositive,
      ),
    ],
    load: lazy(() => import('./inference-speed.js')),
  },
} satisfies Record<string, AnalysisRegistration>;

export type AnalysisName = keyof typeof ANALYSES;

export const ANALYSIS_NAMES = Object.keys(ANALYSES) as AnalysisName[];

/** Every analysis option once, in registry order (an option several analyses list appears at the first). */
export const ANALYSIS_OPTIONS: readonly AnalysisOption[] = [...new Set(ANALYSIS_NAMES.flatMap((n) => (ANALYSES[n] as AnalysisRegistration).options ?? []))];

export interface LoadedAnalysis {
  name: AnalysisName;
  plugin: AnalysisPlugin;
}

/** The plug-ins of the named analyses, in registry order (unknown names are an error). */
export async function loadAnalyses(names: Iterable<string>): Promise<LoadedAnalysis[]> {
  const wanted = new Set(names);
  for (const n of wanted) if (!(n in ANALYSES)) throw new DiffaiError(undefined, `unknown analysis ${JSON.stringify(n)} (known: ${ANALYSIS_NAMES.join(', ')})`);
  const selected = ANALYSIS_NAMES.filter((n) => wanted.has(n));
  return Promise.all(selected.map(async (name) => ({ name, plugin: await ANALYSES[name].load() })));
}

/** The extra data passes the given analyses declared. */
export function neededPasses(loaded: LoadedAnalysis[]): Set<PassName> {
  return new Set(loaded.flatMap((l) => l.plugin.needs ?? []));
}
