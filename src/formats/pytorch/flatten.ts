/**
 * Walks an unpickled checkpoint into dotted tensor names and JSON-like leaves:
 * `state_dict` → `fc1.weight`; nested dicts → `model_state_dict.fc1.weight`; lists by index;
 * argparse Namespace / plain objects by their attribute dict; pickled nn.Modules and
 * TorchScript objects by their parameters and buffers (state_dict names).
 */
import type { LeafValue } from '../types.js';
import type { NumpyArray, TensorRef, UnsupportedTensor } from './torch.js';
import { PyBytes, PyDict, PyGlobal, PyObject, PySet, isHost, type PyKey, type PyValue } from './unpickler.js';
import { warningList } from '../warnings.js';
import { LeafTextBudget, summarizedText } from '../leaf-text.js';
import { MAX_DESCRIBED_ENTRIES, MAX_NAME_TEXT, namesTooLongMessage } from '../tensor-list.js';
import { briefText } from '../../terminal.js';
import { lazyBuiltin } from '../../lazy-builtin.js';

/** Loaded only when a string passes the text budget (start-up loads no crypto). */
const crypto = lazyBuiltin<typeof import('node:crypto')>('node:crypto');

export interface FlatTensor {
  name: string;
  ref: TensorRef | NumpyArray;
}

export interface Flattened {
  tensors: FlatTensor[];
  leaves: Record<string, LeafValue>;
  warnings: string[];
  /** Classes of inert placeholders met (for "cannot decode" messages). */
  placeholders: Set<string>;
  /** Kind of the top-level object, for messages. */
  topKind: string;
}

export interface FlattenLimits {
  maxDepth: number;
  maxNodes: number;
  /** Most values reached again through shared (memoized) containers. */
  maxSharedNodes: number;
}

export class FlattenError extends Error {}

const DEFAULT_FLATTEN: FlattenLimits = { maxDepth: 200, maxNodes: 2_000_000, maxSharedNodes: 100_000 };

function keyString(k: PyKey): string {
  if (k === null) return 'None';
  if (typeof k === 'boolean') return k ? 'True' : 'False';
  return String(k);
}

function isScalar(v: PyValue): boolean {
  return v === null || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'string' || v instanceof PyGlobal;
}

function scalarLeaf(v: PyValue): LeafValue {
  if (v === null || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string') return v;
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v instanceof PyGlobal) return v.qualname;
  if (v instanceof PyBytes) {
    if (v.data && v.length <= 64) return `b'${Buffer.from(v.data).toString('hex')}'`;
    return `<${v.length} bytes>`;
  }
  return String(v);
}

function isModuleState(state: PyValue | undefined): state is PyDict {
  return state instanceof PyDict && state.map.has('_parameters') && state.map.has('_modules');
}

export function flatten(root: PyValue, limits: Partial<FlattenLimits> = {}): Flattened {
  const L = { ...DEFAULT_FLATTEN, ...limits };
  const out: Flattened = { tensors: [], leaves: Object.create(null), warnings: warningList(), placeholders: new Set(), topKind: kindOf(root) };
  const seenNames = new Set<string>();
  const leaves = new Map<string, LeafValue>();
  const onPath = new Set<object>();
  /** Values under each container already walked once (to bound DAG re-expansion). */
  const subtree = new Map<object, number>();
  let nodes = 0;
  let shared = 0;
  /**
   * Names are composed (`outer.inner.leaf`) and strings are shared through the memo, so a
   * small pickle can name leaves with one long key repeated on every level, or hold one long
   * string in thousands of leaves: names count against MAX_NAME_TEXT, and leaf strings against
   * the leaf text budget, past which a string is kept as its size and SHA-256 (once per string).
   */
  let nameText = 0;
  const text = new LeafTextBudget();
  const digests = new Map<string, string>();
  const stringLeaf = (s: string): string => {
    const known = digests.get(s); // a string met again past the budget: neither measured nor hashed again
    if (known !== undefined) return known;
    const bytes = Buffer.byteLength(s, 'utf8');
    if (text.take(bytes)) return s;
    const d = summarizedText(bytes, crypto().createHash('sha256').update(s, 'utf8').digest('hex'));
    digests.set(s, d);
    return d;
  };
  const leafOf = (v: PyValue): LeafValue => (typeof v === 'string' ? stringLeaf(v) : scalarLeaf(v));
  /** `prefix.key`, counted before any use that would flatten a long composed name. */
  const join = (prefix: string, key: string): string => {
    const name = prefix === '' ? key : `${prefix}.${key}`;
    nameText += name.length;
    if (nameText > MAX_NAME_TEXT) throw new FlattenError(namesTooLongMessage());
    return name;
  };

  const addTensor = (name: string, ref: TensorRef | NumpyArray): void => {
    if (seenNames.has(name)) {
      out.warnings.push(`duplicate name ${name}: kept the first`);
      return;
    }
    seenNames.add(name);
    out.tensors.push({ name: name === '' ? 'tensor' : name, ref });
  };
  const addLeaf = (name: string, v: LeafValue): void => {
    const key = name === '' ? 'value' : name;
    if (seenNames.has(key)) {
      out.warnings.push(`duplicate name ${key}: kept the first`);
      return;
    }
    seenNames.add(key);
    if (leaves.size === MAX_DESCRIBED_ENTRIES)
      throw new FlattenError(`more than ${MAX_DESCRIBED_ENTRIES} entries besides tensors (real checkpoints have at most a few thousand)`);
    leaves.set(key, v);
  };

  /** A list of scalars is one leaf, but each element is a value printed: a shared one counts each time it is reached. */
  const countElements = (n: number): void => {
    nodes += n;
    if (nodes > L.maxNodes) throw new FlattenError(`checkpoint has more than ${L.maxNodes} values`);
  };

  const walk = (v: PyValue, name: string, depth: number, tensorsOnly: boolean): void => {
    if (++nodes > L.maxNodes) throw new FlattenError(`checkpoint has more than ${L.maxNodes} values`);
    if (depth > L.maxDepth) throw new FlattenError(`checkpoint nesting is deeper than ${L.maxDepth} levels (at ${briefText(name) || 'top level'})`);
    if (isHost(v)) {
      if (v.hostKind === 'tensor') addTensor(name, v as TensorRef);
      else if (v.hostKind === 'ndarray') addTensor(name, v as NumpyArray);
      else if (v.hostKind === 'unsupported-tensor') out.warnings.push(`${name || 'tensor'}: skipped: ${(v as UnsupportedTensor).reason}`);
      else if (v.hostKind === 'storage') out.warnings.push(`${name || 'value'}: a bare storage (not a tensor) is skipped`);
      else if (!tensorsOnly) addLeaf(name, `<${v.hostKind}>`);
      return;
    }
    if (isScalar(v) || v instanceof PyBytes) {
      if (!tensorsOnly) addLeaf(name, leafOf(v));
      return;
    }
    const obj = v as object;
    if (onPath.has(obj)) {
      out.warnings.push(`${name}: self-referencing value skipped`);
      return;
    }
    const known = subtree.get(obj);
    if (known !== undefined) {
      shared += known;
      if (shared > L.maxSharedNodes) {
        throw new FlattenError(`checkpoint re-uses shared containers for more than ${L.maxSharedNodes} values`);
      }
    }
    const before = nodes;
    onPath.add(obj);
    try {
      if (Array.isArray(v)) {
        if (v.every(isScalar)) {
          countElements(v.length);
          if (!tensorsOnly) addLeaf(name, v.map(leafOf));
        } else {
          v.forEach((x, i) => {
            walk(x, join(name, String(i)), depth + 1, tensorsOnly);
          });
        }
      } else if (v instanceof PySet) {
        if (v.items.every(isScalar)) {
          countElements(v.items.length);
          if (!tensorsOnly) addLeaf(name, v.items.map(leafOf));
        } else {
          v.items.forEach((x, i) => {
            walk(x, join(name, String(i)), depth + 1, tensorsOnly);
          });
        }
      } else if (v instanceof PyDict) {
        if (v.map.size === 0) {
          if (!tensorsOnly && name !== '') addLeaf(name, {});
        }
        for (const [k, x] of v.map) walk(x, join(name, keyString(k)), depth + 1, tensorsOnly);
      } else if (v instanceof PyObject) {
        walkObject(v, name, depth, tensorsOnly);
      } else {
        if (!tensorsOnly) addLeaf(name, String(v));
      }
    } finally {
      onPath.delete(obj);
    }
    if (known === undefined) subtree.set(obj, nodes - before);
  };

  const walkModule = (state: PyDict, name: string, depth: number): void => {
    const params = state.get('_parameters');
    const buffers = state.get('_buffers');
    const modules = state.get('_modules');
    const nonPersistent = new Set<string>();
    const np = state.get('_non_persistent_buffers_set');
    if (np instanceof PySet) for (const x of np.items) if (typeof x === 'string') nonPersistent.add(x);
    if (params instanceof PyDict) {
      for (const [k, x] of params.map) if (x !== null) walk(x, join(name, keyString(k)), depth + 1, true);
    }
    if (buffers instanceof PyDict) {
      for (const [k, x] of buffers.map) {
        if (x !== null && !nonPersistent.has(keyString(k))) walk(x, join(name, keyString(k)), depth + 1, true);
      }
    }
    if (modules instanceof PyDict) {
      for (const [k, x] of modules.map) if (x !== null) walk(x, join(name, keyString(k)), depth + 1, true);
    }
  };

  const walkObject = (o: PyObject, name: string, depth: number, tensorsOnly: boolean): void => {
    let state = o.state;
    // (dict, slotstate) pairs
    if (Array.isArray(state) && state.length === 2 && (state[0] instanceof PyDict || state[0] === null)) {
      state = state[0] ?? state[1];
    }
    const cls = o.className;
    if (isModuleState(state)) {
      walkModule(state, name, depth);
      return;
    }
    if (cls.startsWith('__torch__.') && state instanceof PyDict) {
      // TorchScript object: its attributes hold parameters, buffers and submodules
      for (const [k, x] of state.map) {
        const key = keyString(k);
        if (key === 'training' || key.startsWith('_')) continue;
        walk(x, join(name, key), depth + 1, true);
      }
      return;
    }
    let used = false;
    if (state instanceof PyDict) {
      for (const [k, x] of state.map) walk(x, join(name, keyString(k)), depth + 1, tensorsOnly);
      used = true;
    }
    if (o.dictItems) {
      for (const [k, x] of o.dictItems.map) walk(x, join(name, keyString(k)), depth + 1, tensorsOnly);
      used = true;
    }
    if (o.listItems) {
      o.listItems.forEach((x, i) => {
        walk(x, join(name, String(i)), depth + 1, tensorsOnly);
      });
      used = true;
    }
    if (!used) {
      out.placeholders.add(cls);
      if (!tensorsOnly) addLeaf(name, `<${cls} object>`);
    }
  };

  walk(root, '', 0, false);
  // a prototype-less record: a leaf named `__proto__` stays an ordinary key
  const record = Object.create(null) as Record<string, LeafValue>;
  for (const [k, v] of leaves) record[k] = v;
  out.leaves = record;
  return out;
}

function kindOf(v: PyValue): string {
  if (v instanceof PyObject) {
    if (isModuleState(v.state)) return `pickled nn.Module ${v.className}`;
    if (v.className.startsWith('__torch__.')) return `TorchScript object ${v.className}`;
    return `object ${v.className}`;
  }
  if (v instanceof PyDict) return 'dict';
  if (Array.isArray(v)) return 'list';
  if (isHost(v)) return v.hostKind;
  return typeof v;
}
