/**
 * The entries a million-tensor output is made of, put on a tape straight from their values:
 * a diff's `{"TensorStatsChanged": [name, stats A, stats B, comparison]}` (JSON and YAML) and
 * an inspection's tensor (JSON). The bytes are those the generic walks (JsonTape.value,
 * YamlTape.item) write for them, without the contract's entry objects, the walks'
 * per-member dispatch and lookups, or a mark per item. Texts between values are fixed for
 * these shapes and registered once.
 *
 * Only plain values take this path: stats with exactly the members tensorStats makes (in its
 * order; no complex parts or quantization), a comparison with comparison()'s, no original
 * names, an inspected tensor with name and role only before its stats (no tie or link), and
 * nothing enumerable inherited from Object.prototype. Anything else goes to the generic walk
 * (the caller's), so the output is the same either way (test/stats_tape.test.ts).
 */
import type { DiffResult, TensorStats } from '../diff/types.js';
import type { InspectedTensor } from '../report/inspect-rows.js';
import type { JsonTape, Text } from './json-tape.js';
import { yamlKey, yamlScalar } from './yaml-emit.js';

type StatsChanged = Extract<DiffResult, { kind: 'TensorStatsChanged' }>;

const KIND = 'TensorStatsChanged';
/** tensorStats()'s members in its order; before `shape` and `dtype` the numbers, after them counts and the norm. */
const STATS_KEYS = [
  'mean',
  'std',
  'min',
  'max',
  'shape',
  'dtype',
  'total_params',
  'nan_count',
  'posinf_count',
  'neginf_count',
  'zero_count',
  'l2_norm',
] as const;
const NUMBERS_BEFORE = ['mean', 'std', 'min', 'max'] as const;
const NUMBERS_AFTER = ['total_params', 'nan_count', 'posinf_count', 'neginf_count', 'zero_count', 'l2_norm'] as const;
/** comparison()'s members in its order. */
const COMPARISON_KEYS = ['max_abs_diff', 'mean_abs_diff', 'rel_l2_change', 'cosine_similarity', 'changed_elements'] as const;

/** True when the enumerable keys of `object` (for…in, as the walks see them) are `keys`, in order. */
function keysAre(object: object, keys: readonly string[]): boolean {
  let j = 0;
  for (const key in object) if (key !== keys[j++]) return false;
  return j === keys.length;
}

const numberOrNull = (x: unknown) => typeof x === 'number' || x === null;

/** Stats of tensorStats' shape whose members are all printable as this path prints them. */
function plainStats(s: TensorStats): boolean {
  return keysAre(s, STATS_KEYS) && plainValues(s);
}

/** True when the stats members of `s` hold what tensorStats puts there: numbers or null, a plain list of numbers, a dtype name. */
function plainValues(s: TensorStats): boolean {
  // Members read by name (a loop over key names would be a megamorphic load per member, a million times over).
  if (typeof s.dtype !== 'string' || !Array.isArray(s.shape) || Object.getPrototypeOf(s.shape) !== Array.prototype) return false;
  if (!(numberOrNull(s.mean) && numberOrNull(s.std) && numberOrNull(s.min) && numberOrNull(s.max) && numberOrNull(s.total_params))) return false;
  if (!(numberOrNull(s.nan_count) && numberOrNull(s.posinf_count) && numberOrNull(s.neginf_count) && numberOrNull(s.zero_count) && numberOrNull(s.l2_norm)))
    return false;
  for (let i = 0; i < s.shape.length; i++) if (typeof s.shape[i] !== 'number') return false;
  return true;
}

const INSPECTED_KEYS = ['name', 'role', ...STATS_KEYS];

/** True when an inspected tensor can take this path: name, role and tensorStats' members only (no ties, links, parts or quantization). */
export function plainInspected(t: InspectedTensor): boolean {
  return keysAre(t, INSPECTED_KEYS) && typeof t.name === 'string' && typeof t.role === 'string' && plainValues(t) && !prototypeEnumerable();
}

/** True when `r` can take this path (see the module comment). */
export function plainStatsChanged(r: DiffResult): r is StatsChanged {
  if (r.kind !== KIND || r.original !== undefined || !plainStats(r.a) || !plainStats(r.b) || !keysAre(r.comparison, COMPARISON_KEYS)) return false;
  const c = r.comparison;
  const numbers =
    numberOrNull(c.max_abs_diff) &&
    numberOrNull(c.mean_abs_diff) &&
    numberOrNull(c.rel_l2_change) &&
    numberOrNull(c.cosine_similarity) &&
    numberOrNull(c.changed_elements);
  return numbers && !prototypeEnumerable();
}

/** True when Object.prototype has enumerable members (the walks' for…in would see them). */
function prototypeEnumerable(): boolean {
  for (const _ in Object.prototype) return true;
  return false;
}

/** Writes plain TensorStatsChanged entries on a tape as JSON (JsonTape.value at indentation 2) or as YAML items (YamlTape.item), and plain inspected tensors as JSON. */
export class StatsTape {
  private readonly json_: JsonTexts;
  private readonly inspected: { name: Text | string; role: Text | string; stats: JsonStatsTexts };
  private readonly yaml_: YamlTexts;
  /** Short strings (dtype names) as registered YAML scalars, by level. */
  private readonly scalars = [new Map<string, Text | string>(), new Map<string, Text | string>()];

  constructor(private readonly tape: JsonTape) {
    const t = (text: string) => tape.constant(text) ?? text;
    const jsonKey = (k: string, first: boolean) => t(`${first ? '{' : ','}\n        ${JSON.stringify(k)}: `);
    const yamlMember = (k: string, first: boolean, colon = ': ') => t(first ? `${yamlKey(k)}${colon}` : `\n      ${yamlKey(k)}${colon}`);
    this.json_ = {
      open: t(`{\n    ${JSON.stringify(KIND)}: [\n      `),
      next: t(',\n      '),
      stats: this.jsonStatsTexts(8, true),
      comparison: COMPARISON_KEYS.map((k, i) => jsonKey(k, i === 0)),
      close: t('\n      }\n    ]\n  }'),
      null: t('null'),
    };
    this.inspected = {
      name: t(`{\n      ${JSON.stringify('name')}: `),
      role: t(`,\n      ${JSON.stringify('role')}: `),
      stats: this.jsonStatsTexts(6, false),
    };
    this.yaml_ = {
      open: t(`- ${yamlKey(KIND)}:`),
      dash: t('\n    - '),
      before: NUMBERS_BEFORE.map((k, i) => yamlMember(k, i === 0)),
      shapeEmpty: t(`\n      ${yamlKey('shape')}: []`),
      shape: yamlMember('shape', false, ':'),
      dim: t('\n        - '),
      dtype: yamlMember('dtype', false),
      after: NUMBERS_AFTER.map((k) => yamlMember(k, false)),
      comparison: COMPARISON_KEYS.map((k, i) => yamlMember(k, i === 0)),
      end: t('\n'),
      null: t('null'),
    };
  }

  private put(t: Text | string): void {
    if (typeof t === 'string') this.tape.utf8(t);
    else this.tape.text(t);
  }

  /** The entry as JSON.stringify(contract entry, null, 2) prints it inside the top-level array (its lines indented by 2). */
  json(r: StatsChanged): void {
    const j = this.json_;
    this.put(j.open);
    this.tape.string(r.name);
    this.put(j.next);
    this.jsonStats(r.a, j.stats);
    this.put(j.next);
    this.jsonStats(r.b, j.stats);
    this.put(j.next);
    const c = r.comparison;
    const keys = j.comparison;
    this.jsonMember(keys[0]!, c.max_abs_diff);
    this.jsonMember(keys[1]!, c.mean_abs_diff);
    this.jsonMember(keys[2]!, c.rel_l2_change);
    this.jsonMember(keys[3]!, c.cosine_similarity);
    this.jsonMember(keys[4]!, c.changed_elements);
    this.put(j.close);
  }

  /** Texts of a stats object's members standing at `indent` (`opens`: its first member opens the object), and its end. */
  private jsonStatsTexts(indent: number, opens: boolean): JsonStatsTexts {
    const t = (text: string) => this.tape.constant(text) ?? text;
    const pad = ' '.repeat(indent);
    const key = (k: string, first = false) => t(`${first ? '{' : ','}\n${pad}${JSON.stringify(k)}: `);
    return {
      before: NUMBERS_BEFORE.map((k, i) => key(k, opens && i === 0)),
      shape: key('shape'),
      empty: t('[]'),
      dimFirst: t(`[\n${pad}  `),
      dimNext: t(`,\n${pad}  `),
      dimsEnd: t(`\n${pad}]`),
      dtype: key('dtype'),
      after: NUMBERS_AFTER.map((k) => key(k)),
      end: t(`\n${' '.repeat(indent - 2)}}`),
    };
  }

  private jsonStats(s: TensorStats, j: JsonStatsTexts): void {
    const before = j.before;
    this.jsonMember(before[0]!, s.mean);
    this.jsonMember(before[1]!, s.std);
    this.jsonMember(before[2]!, s.min);
    this.jsonMember(before[3]!, s.max);
    this.put(j.shape);
    if (s.shape.length === 0) this.put(j.empty);
    else {
      for (let i = 0; i < s.shape.length; i++) {
        this.put(i === 0 ? j.dimFirst : j.dimNext);
        this.tape.number(s.shape[i]!);
      }
      this.put(j.dimsEnd);
    }
    this.put(j.dtype);
    this.tape.string(s.dtype);
    const after = j.after;
    this.jsonMember(after[0]!, s.total_params);
    this.jsonMember(after[1]!, s.nan_count);
    this.jsonMember(after[2]!, s.posinf_count);
    this.jsonMember(after[3]!, s.neginf_count);
    this.jsonMember(after[4]!, s.zero_count);
    this.jsonMember(after[5]!, s.l2_norm);
    this.put(j.end);
  }

  private jsonMember(key: Text | string, x: number | null): void {
    this.put(key);
    this.jsonNumber(x);
  }

  /** An inspected tensor as JSON.stringify prints it in the inspection's "tensors" list (standing at indentation 4). */
  jsonInspected(t: InspectedTensor): void {
    const j = this.inspected;
    this.put(j.name);
    this.tape.string(t.name);
    this.put(j.role);
    this.tape.string(t.role);
    this.jsonStats(t, j.stats);
  }

  private jsonNumber(x: number | null): void {
    if (x === null) this.put(this.json_.null);
    else this.tape.number(x);
  }

  /** The entry as a top-level block-sequence item, `- TensorStatsChanged:` and its lines, then a line break. */
  yaml(r: StatsChanged): void {
    const y = this.yaml_;
    this.put(y.open);
    this.put(y.dash);
    this.yamlString(r.name, 3);
    this.put(y.dash);
    this.yamlStats(r.a);
    this.put(y.dash);
    this.yamlStats(r.b);
    this.put(y.dash);
    const c = r.comparison;
    const keys = y.comparison;
    this.yamlMember(keys[0]!, c.max_abs_diff);
    this.yamlMember(keys[1]!, c.mean_abs_diff);
    this.yamlMember(keys[2]!, c.rel_l2_change);
    this.yamlMember(keys[3]!, c.cosine_similarity);
    this.yamlMember(keys[4]!, c.changed_elements);
    this.put(y.end);
  }

  /** A stats mapping at level 3 (first member on the `- ` line, the rest indented by 6). */
  private yamlStats(s: TensorStats): void {
    const y = this.yaml_;
    const before = y.before;
    this.yamlMember(before[0]!, s.mean);
    this.yamlMember(before[1]!, s.std);
    this.yamlMember(before[2]!, s.min);
    this.yamlMember(before[3]!, s.max);
    if (s.shape.length === 0) this.put(y.shapeEmpty);
    else {
      this.put(y.shape);
      for (let i = 0; i < s.shape.length; i++) {
        this.put(y.dim);
        this.tape.yamlNumber(s.shape[i]!);
      }
    }
    this.put(y.dtype);
    this.yamlString(s.dtype, 4);
    const after = y.after;
    this.yamlMember(after[0]!, s.total_params);
    this.yamlMember(after[1]!, s.nan_count);
    this.yamlMember(after[2]!, s.posinf_count);
    this.yamlMember(after[3]!, s.neginf_count);
    this.yamlMember(after[4]!, s.zero_count);
    this.yamlMember(after[5]!, s.l2_norm);
  }

  private yamlMember(key: Text | string, x: number | null): void {
    this.put(key);
    this.yamlNumber(x);
  }

  private yamlNumber(x: number | null): void {
    if (x === null) this.put(this.yaml_.null);
    else this.tape.yamlNumber(x);
  }

  /** A string scalar at level 3 or 4 (yaml-emit's text); short ones (dtype names) repeat, and are registered. */
  private yamlString(s: string, level: 3 | 4): void {
    if (s.length > 8) {
      this.tape.utf8(yamlScalar(s, level));
      return;
    }
    const known = this.scalars[level - 3]!;
    let text = known.get(s);
    if (text === undefined) {
      text = this.tape.constant(yamlScalar(s, level)) ?? yamlScalar(s, level);
      if (known.size < 1024) known.set(s, text);
    }
    this.put(text);
  }
}

interface JsonTexts {
  open: Text | string;
  next: Text | string;
  stats: JsonStatsTexts;
  comparison: Array<Text | string>;
  close: Text | string;
  null: Text | string;
}

interface JsonStatsTexts {
  before: Array<Text | string>;
  shape: Text | string;
  empty: Text | string;
  dimFirst: Text | string;
  dimNext: Text | string;
  dimsEnd: Text | string;
  dtype: Text | string;
  after: Array<Text | string>;
  end: Text | string;
}

interface YamlTexts {
  open: Text | string;
  dash: Text | string;
  before: Array<Text | string>;
  shapeEmpty: Text | string;
  shape: Text | string;
  dim: Text | string;
  dtype: Text | string;
  after: Array<Text | string>;
  comparison: Array<Text | string>;
  end: Text | string;
  null: Text | string;
}
