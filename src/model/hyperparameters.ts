/**
 * Stored hyperparameters as typed data, taken from the non-tensor leaves a reader already
 * produced (optimizer param_groups, per-parameter step, epoch, argparse `args`) and from a
 * Hugging Face `config.json` beside the model file or inside the model directory.
 */
import { DiffaiError } from '../errors.js';
import { parseJson } from '../io/json.js';
import { readSibling, siblingPath } from '../io/sibling-file.js';
import type { TensorColumns } from '../formats/table.js';
import type { LeafValue } from '../formats/types.js';

export interface ParamGroup {
  /** Position in `param_groups`. */
  index: number;
  lr?: number;
  betas?: number[];
  eps?: number;
  weight_decay?: number;
  momentum?: number;
  /** Indexes of the parameters in this group (optimizer numbering, not names). */
  params: number[];
  /** Every other entry of the group (amsgrad, nesterov, foreach …) as stored. */
  other: Record<string, LeafValue>;
}

export interface ParameterStep {
  /** The parameter index (the key under `state`). */
  param: number;
  /** The step count when stored as a number (torch < 1.12). */
  value?: number;
  /** The 0-d tensor that holds it (torch ≥ 1.12 stores `step` as a tensor): its name. */
  tensor?: string;
}

export interface OptimizerHyperparameters {
  /** Dotted path of the optimizer's state_dict (`optimizer_state_dict`; '' at top level). */
  path: string;
  paramGroups: ParamGroup[];
  steps: ParameterStep[];
}

export interface HuggingFaceConfig {
  path: string;
  values: Record<string, unknown>;
}

export interface Hyperparameters {
  optimizers: OptimizerHyperparameters[];
  epoch?: number;
  /** Top-level `global_step` or `step` of a training checkpoint. */
  globalStep?: number;
  /** argparse Namespace (or dict) stored as `args`. */
  args?: Record<string, LeafValue>;
  config?: HuggingFaceConfig;
}

/** config.json files larger than this are not read. */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

const GROUP_KEY = /^(?:(.*)\.)?param_groups\.(\d+)\.([^.]+)$/;
const STEP_KEY = /^(?:(.*)\.)?state\.(\d+)\.step$/;

function numbers(v: LeafValue | undefined): number[] | undefined {
  return Array.isArray(v) && v.every((x) => typeof x === 'number') ? (v as number[]) : undefined;
}

function number(v: LeafValue | undefined): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

export function readHyperparameters(leaves: Record<string, LeafValue>, tensors: TensorColumns): Hyperparameters {
  const optimizers = new Map<string, OptimizerHyperparameters>();
  const optimizer = (path: string): OptimizerHyperparameters => {
    let o = optimizers.get(path);
    if (!o) optimizers.set(path, (o = { path, paramGroups: [], steps: [] }));
    return o;
  };
  const groups = new Map<string, Map<number, Record<string, LeafValue>>>();
  const steps: Array<[string, ParameterStep]> = [];
  const args: Record<string, LeafValue> = {};
  let hasArgs = false;
  const out: Hyperparameters = { optimizers: [] };
  for (const [key, value] of Object.entries(leaves)) {
    const g = GROUP_KEY.exec(key);
    if (g) {
      const path = g[1] ?? '';
      let byIndex = groups.get(path);
      if (!byIndex) groups.set(path, (byIndex = new Map()));
      const index = Number(g[2]);
      let fields = byIndex.get(index);
      if (!fields) byIndex.set(index, (fields = {}));
      fields[g[3]!] = value;
      continue;
    }
    const s = STEP_KEY.exec(key);
    if (s && typeof value === 'number') steps.push([s[1] ?? '', { param: Number(s[2]), value }]);
    else if (key === 'epoch' && typeof value === 'number') out.epoch = value;
    else if ((key === 'global_step' || key === 'step') && typeof value === 'number') out.globalStep = value;
    else if (key.startsWith('args.')) {
      args[key.slice('args.'.length)] = value;
      hasArgs = true;
    }
  }
  for (let i = 0; i < tensors.count; i++) {
    if (!tensors.nameEndsWith(i, 'step')) continue; // no string per tensor for the rest
    const name = tensors.name(i);
    const s = STEP_KEY.exec(name);
    if (s && tensors.numel(i) === 1) steps.push([s[1] ?? '', { param: Number(s[2]), tensor: name }]);
  }
  for (const [path, byIndex] of groups) {
    const o = optimizer(path);
    for (const [index, fields] of [...byIndex].sort((x, y) => x[0] - y[0])) {
      const { lr, betas, eps, weight_decay: wd, momentum, params, ...other } = fields;
      const group: ParamGroup = { index, params: numbers(params) ?? [], other };
      if (number(lr) !== undefined) group.lr = lr as number;
      if (numbers(betas)) group.betas = betas as number[];
      if (number(eps) !== undefined) group.eps = eps as number;
      if (number(wd) !== undefined) group.weight_decay = wd as number;
      if (number(momentum) !== undefined) group.momentum = momentum as number;
      o.paramGroups.push(group);
    }
  }
  // steps count only where an optimizer's param_groups were found beside them
  for (const [path, step] of steps) if (optimizers.has(path)) optimizers.get(path)!.steps.push(step);
  for (const o of optimizers.values()) o.steps.sort((x, y) => x.param - y.param);
  out.optimizers = [...optimizers.values()].sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
  if (hasArgs) out.args = args;
  return out;
}

/**
 * The Hugging Face `config.json` in `modelPath` (a directory) or beside it (a file; for a
 * remote model, at the same URL directory or hub revision), when there is one. Reads at most
 * MAX_CONFIG_BYTES; a config that is too large, unreadable or not a JSON object is skipped
 * with a warning (it is not the file being compared).
 */
export function readHuggingFaceConfig(modelPath: string, warnings: string[] = []): HuggingFaceConfig | undefined {
  let path = modelPath;
  let buffer: Buffer;
  try {
    path = siblingPath(modelPath, 'config.json');
    const found = readSibling(modelPath, 'config.json', MAX_CONFIG_BYTES);
    if (!found) return undefined;
    if ('tooLarge' in found) {
      warnings.push(`${path}: ${found.size} bytes, larger than the ${MAX_CONFIG_BYTES}-byte limit for config.json; not read`);
      return undefined;
    }
    buffer = found.bytes;
  } catch (e) {
    // Not the file being compared: a config that cannot be read is a warning.
    if (e instanceof DiffaiError) warnings.push(`${path}: ${e.message}; config.json not read`);
    else throw e;
    return undefined;
  }
  let values: unknown;
  try {
    values = parseJson(buffer.toString('utf8'), path, 'not valid JSON');
  } catch (e) {
    warnings.push(`${path}: ${(e as Error).message}; not read`);
    return undefined;
  }
  if (typeof values !== 'object' || values === null || Array.isArray(values)) {
    warnings.push(`${path}: not a JSON object; not read`);
    return undefined;
  }
  return { path, values: values as Record<string, unknown> };
}
