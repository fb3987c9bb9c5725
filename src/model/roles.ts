/**
 * What a tensor *is* in its model: a learnable parameter, a non-learnable buffer, optimizer
 * state, a checkpoint scalar or a quantized stand-in for a float parameter. Decided from the
 * descriptor alone (name, shape, dtype), by the module conventions torch and Hugging Face use;
 * the list is documented in docs/model-view.md.
 */
import { isComplex, isFloat } from '../dtypes.js';
import type { RowFacts } from '../formats/table.js';

export type Role = 'parameter' | 'buffer' | 'optimizer_state' | 'scalar' | 'quantized';

export const ROLES: readonly Role[] = ['parameter', 'buffer', 'optimizer_state', 'scalar', 'quantized'];

/** Optimizer state and step counters: not model parameters. */
export function isOptimizerState(name: string): boolean {
  return optimizerStateName(name);
}

/** isOptimizerState, with the last name component when the caller already has it. */
function optimizerStateName(name: string, last?: string): boolean {
  // Cheap tests first, without allocating: this runs for every tensor of a million-tensor file.
  // (A name the pattern matches contains "opt" in the same case-insensitive sense.)
  return (
    (OPT.test(name) && /(^|\.)(optimizer|optim|optimizer_state_dict|opt_state)(\.|$)/i.test(name)) ||
    (endsWithOptimizerLeaf(name) && OPTIMIZER_STATE_LEAVES.has(last ?? lastComponent(name)))
  );
}

const OPT = /opt/i;

/** True when the name ends in a character one of OPTIMIZER_STATE_LEAVES ends in (most names do not). */
function endsWithOptimizerLeaf(name: string): boolean {
  return OPTIMIZER_LEAF_ENDS.has(name.charCodeAt(name.length - 1));
}

/** Last name components of per-parameter optimizer state. */
const OPTIMIZER_STATE_LEAVES = new Set(['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq', 'momentum_buffer', 'square_avg', 'acc_delta', 'grad_avg']);
const OPTIMIZER_LEAF_ENDS = new Set([...OPTIMIZER_STATE_LEAVES].map((leaf) => leaf.charCodeAt(leaf.length - 1)));

/** `fc1._packed_params._packed_params.0` (weight) / `.1` (bias) of torch dynamic quantization. */
const PACKED_PARAMS = /^(.*)\._packed_params\._packed_params\.([01])$/;
const PACKED_MARK = '._packed_params._packed_params.';

/** The float parameter a dynamic-quantization packed entry replaces (`fc1.weight`, `fc1.bias`). */
export function packedParamTarget(name: string): string | undefined {
  if (!name.includes(PACKED_MARK)) return undefined;
  const m = PACKED_PARAMS.exec(name);
  if (!m) return undefined;
  return `${m[1]!}.${m[2] === '0' ? 'weight' : 'bias'}`;
}

function lastComponent(name: string): string {
  return name.slice(name.lastIndexOf('.') + 1);
}

function parentOf(name: string): string {
  const i = name.lastIndexOf('.');
  return i < 0 ? '' : name.slice(0, i);
}

function isInteger(desc: RowFacts): boolean {
  return !isFloat(desc.dtype) && !isComplex(desc.dtype) && desc.dtype !== 'bool';
}

/** GPT-2's causal mask `attn.bias`: [1, 1, n, n] (bool, u8 or 0/1 floats), where a learnable bias is 1-D. */
function isCausalMask(desc: RowFacts): boolean {
  const s = desc.shape;
  return s.length === 4 && s[0] === 1 && s[1] === 1 && s[2] === s[3] && /(^|\.)(attn|attention|self_attn)(\.|$)/.test(parentOf(desc.name));
}

/**
 * Non-learnable buffers by name and, where a name alone is ambiguous, by shape/dtype.
 * Any non-float tensor also counts: torch parameters can only be floating point or complex.
 */
export function isBuffer(desc: RowFacts, last: string = lastComponent(desc.name)): boolean {
  switch (last) {
    case 'running_mean':
    case 'running_var':
    case 'num_batches_tracked':
    case '_float_tensor':
      return true;
    case 'position_ids':
    case 'token_type_ids':
    case 'relative_position_index':
      return isInteger(desc);
    case 'inv_freq':
      return desc.shape.length === 1;
    case 'masked_bias':
      return desc.numel <= 1;
    case 'bias':
      if (isCausalMask(desc)) return true;
  }
  return !isFloat(desc.dtype) && !isComplex(desc.dtype);
}

/** Top-level keys under which training checkpoints keep a model's state_dict. */
const MODEL_CONTAINERS = new Set(['model_state_dict', 'state_dict', 'model', 'model_state', 'net', 'network', 'module', 'ema', 'model_ema']);
/** The same as first components of a dotted name (`model.`), tested with startsWith (no substring per name). */
const MODEL_CONTAINER_PREFIXES = [...MODEL_CONTAINERS].map((c) => `${c}.`);

/** Facts about the whole file that some roles depend on. */
export interface RoleContext {
  /** The file is a training checkpoint (model state nested beside optimizer state, epoch, loss …). */
  trainingCheckpoint: boolean;
  /** Modules with dynamic-quantization packed params (`fc1` for `fc1._packed_params._packed_params.0`). */
  packedModules: Set<string>;
}

/** `tensorNames`: the names of the file's tensors. */
export function roleContext(tensorNames: Iterable<string>, leafNames: string[]): RoleContext {
  const packedModules = new Set<string>();
  let training = leafNames.some((k) => !k.includes('.'));
  for (const name of tensorNames) {
    const m = name.includes(PACKED_MARK) ? PACKED_PARAMS.exec(name) : null;
    if (m) packedModules.add(m[1]!);
    if (isOptimizerState(name)) training = true;
    if (!training && MODEL_CONTAINER_PREFIXES.some((p) => name.startsWith(p))) training = true;
  }
  return { trainingCheckpoint: training, packedModules };
}

export interface RoleOf {
  role: Role;
  /** Quantized entries: the float parameter they replace. */
  linkedTo?: string;
}

/** The role of one tensor; the first rule that applies wins (optimizer, quantized, scalar, buffer, parameter). */
export function roleOf(desc: RowFacts, ctx: RoleContext): RoleOf {
  // The last name component once (not once per rule): a million names are tested here.
  const last = lastComponent(desc.name);
  if (optimizerStateName(desc.name, last)) return PLAIN.optimizer_state;
  const target = packedParamTarget(desc.name);
  if (target) return { role: 'quantized', linkedTo: target };
  if (desc.linkedTo !== undefined) return { role: 'quantized', linkedTo: desc.linkedTo };
  if (desc.quantization) return PLAIN.quantized;
  if ((last === 'scale' || last === 'zero_point') && ctx.packedModules.has(parentOf(desc.name))) return PLAIN.quantized;
  if (ctx.trainingCheckpoint && !desc.name.includes('.') && desc.numel === 1 && desc.shape.length <= 1) return PLAIN.scalar;
  if (isBuffer(desc, last)) return PLAIN.buffer;
  return PLAIN.parameter;
}

/** One shared answer per role without a link (no object per tensor). */
const PLAIN = Object.fromEntries(ROLES.map((role) => [role, Object.freeze({ role })])) as Record<Role, RoleOf>;
