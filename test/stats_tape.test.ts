/**
 * The direct writer of TensorStatsChanged entries (src/render/stats-tape.ts) against
 * the definitions it must equal byte for byte: JSON.stringify of the contract and js-yaml's
 * dump of it, through the streamed renderers (jsonWindowChunks, yamlWindowChunks), on
 * generated results with adversarial names, every kind of number (random bit patterns,
 * −0, NaN, ±Infinity, null), empty and multi-dimensional shapes; and results it must leave
 * to the generic walks (original names, complex parts, quantization, other key orders, a
 * polluted Object.prototype), which must then still print the same. Inspected tensors: the
 * streamed inspection JSON against JSON.stringify of the report's contract.
 */
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { DTYPES } from '../src/dtypes.js';
import type { Comparison, DiffResult, TensorStats } from '../src/diff/types.js';
import { finiteOnly, toContract } from '../src/render/contract.js';
import { jsonWindowChunks } from '../src/render/json.js';
import { plainInspected, plainStatsChanged } from '../src/render/stats-tape.js';
import { inspectJsonChunks } from '../src/render/inspect-json.js';
import { renderJson } from '../src/render/json.js';
import { jsonSafeChunks } from '../src/render/json-safe.js';
import { reportContract } from '../src/render/contract.js';
import type { InspectReport, InspectedTensor } from '../src/report/inspect-rows.js';
import { yamlWindowChunks } from '../src/render/yaml.js';
import { itemText } from '../src/render/yaml-text.js';
import { Rng } from './helpers/dtypes.js';
import { NUMBERS, PIECES, WORDS } from './helpers/yaml-values.js';

function randomNumber(rng: Rng, view: DataView): number | null {
  const k = rng.int(10);
  if (k === 0) return null;
  if (k < 4) return NUMBERS[rng.int(NUMBERS.length)]!;
  view.setUint32(0, rng.int(2 ** 32));
  view.setUint32(4, rng.int(2 ** 32));
  return view.getFloat64(0);
}

function randomName(rng: Rng): string {
  if (rng.int(3) === 0) return WORDS[rng.int(WORDS.length)]!;
  let s = '';
  for (let n = rng.int(12); n >= 0; n--) s += PIECES[rng.int(PIECES.length)]!;
  return s;
}

/** Stats with tensorStats' members in its order. */
function randomStats(rng: Rng, view: DataView): TensorStats {
  const dims = rng.int(4);
  return {
    mean: randomNumber(rng, view),
    std: randomNumber(rng, view),
    min: randomNumber(rng, view),
    max: randomNumber(rng, view),
    shape: Array.from({ length: dims }, () => rng.int(5000)),
    dtype: DTYPES[rng.int(DTYPES.length)]!,
    total_params: rng.int(1e9),
    nan_count: rng.int(2) ? rng.int(100) : null,
    posinf_count: rng.int(2) ? rng.int(100) : null,
    neginf_count: rng.int(2) ? 0 : null,
    zero_count: rng.int(2) ? rng.int(1e6) : null,
    l2_norm: randomNumber(rng, view),
  };
}

function randomComparison(rng: Rng, view: DataView): Comparison {
  return {
    max_abs_diff: randomNumber(rng, view),
    mean_abs_diff: randomNumber(rng, view),
    rel_l2_change: randomNumber(rng, view),
    cosine_similarity: randomNumber(rng, view),
    changed_elements: rng.int(1e6),
  };
}

function randomResult(rng: Rng, view: DataView): DiffResult {
  return { kind: 'TensorStatsChanged', name: randomName(rng), a: randomStats(rng, view), b: randomStats(rng, view), comparison: randomComparison(rng, view) };
}

/** Results the direct writer must leave to the generic walks. */
function unusual(rng: Rng, view: DataView): DiffResult[] {
  const base = () => randomResult(rng, view) as Extract<DiffResult, { kind: 'TensorStatsChanged' }>;
  const renamed = { ...base(), original: { a: 'x.weight', b: 'y.weight' } };
  const complex = base();
  complex.a = { ...complex.a, real: { mean: 1, std: 0, min: 1, max: 1 }, imag: { mean: null, std: null, min: null, max: null } };
  const quantized = base();
  quantized.b = { ...quantized.b, quantization: { scheme: 'per_tensor_affine', scale: 0.5, zero_point: 3 } };
  const reordered = base();
  const { mean, ...rest } = reordered.a;
  reordered.a = { ...rest, mean } as TensorStats;
  const comparisonReordered = base();
  const { changed_elements, ...others } = comparisonReordered.comparison;
  comparisonReordered.comparison = { changed_elements, ...others };
  return [renamed, complex, quantized, reordered, comparisonReordered, { kind: 'TensorShapeChanged', name: 'w', a: [2, 3], b: [3, 2] }];
}

/** Windows of `size` results (the first is written as text by both renderers, the rest on the tape). */
async function* windows(results: DiffResult[], size: number): AsyncGenerator<DiffResult[]> {
  for (let i = 0; i < results.length; i += size) yield results.slice(i, i + size);
}

async function text(chunks: AsyncIterable<string | Uint8Array>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of chunks) parts.push(typeof c === 'string' ? Buffer.from(c, 'utf8') : Buffer.from(c));
  return Buffer.concat(parts).toString('utf8');
}

const jsonReference = (results: DiffResult[]) => `${JSON.stringify(toContract(results), null, 2)}\n`;
const yamlReference = (results: DiffResult[]) => yaml.dump(finiteOnly(toContract(results)), { noRefs: true, lineWidth: -1 });

describe('TensorStatsChanged entries written straight from their results', () => {
  const rng = new Rng(77);
  const view = new DataView(new ArrayBuffer(8));
  const plain = Array.from({ length: 3000 }, () => randomResult(rng, view));

  it('are taken by the direct path when plain, and left to the walks otherwise', () => {
    expect(plain.every(plainStatsChanged)).toBe(true);
    for (const r of unusual(rng, view)) expect(plainStatsChanged(r), JSON.stringify(r)).toBe(false);
  });

  it('JSON and YAML equal JSON.stringify and js-yaml of the contract, plain and unusual results mixed, at several window sizes', async () => {
    const mixed = [...plain.slice(0, 1500), ...unusual(rng, view), ...plain.slice(1500)];
    const json = jsonReference(mixed);
    const yml = yamlReference(mixed);
    for (const size of [1, 7, 256]) {
      expect((await text(jsonWindowChunks(windows(mixed, size)))) === json, `JSON, windows of ${size}`).toBe(true);
      expect((await text(yamlWindowChunks(windows(mixed, size)))) === yml, `YAML, windows of ${size}`).toBe(true);
    }
  });

  it('with an enumerable member on Object.prototype, take the walks and print what they print (JSON as JSON.stringify, YAML as yaml-emit)', async () => {
    const results = plain.slice(0, 300);
    const proto = Object.prototype as Record<string, unknown>;
    proto.polluted = 1;
    try {
      expect(plainStatsChanged(results[0]!)).toBe(false);
      const json = await text(jsonWindowChunks(windows(results, 50)));
      const yml = await text(yamlWindowChunks(windows(results, 50)));
      expect(json === jsonReference(results)).toBe(true);
      // yaml-emit's items (the YAML definition; its walk sees inherited members, as js-yaml's does not after finiteOnly).
      const items = toContract(results).map((entry) => `- ${itemText(entry, 1)}\n`);
      expect(yml === items.join('')).toBe(true);
    } finally {
      delete proto.polluted;
    }
  });
});

describe('inspected tensors written straight from their values', () => {
  const rng = new Rng(91);
  const view = new DataView(new ArrayBuffer(8));
  const roles = ['parameter', 'buffer', 'optimizer_state', 'scalar', 'quantized'] as const;
  const tensor = (k: number): InspectedTensor => {
    const t = { name: randomName(rng), role: roles[k % roles.length]! } as InspectedTensor;
    if (k % 97 === 5) t.tied_to = randomName(rng);
    if (k % 89 === 7) t.linked_to = 'w.weight';
    Object.assign(t, randomStats(rng, view));
    if (k % 83 === 3) t.quantization = { scheme: 'per_tensor_affine', scale: 0.25, zero_point: 1 };
    if (k % 79 === 2) t.real = { mean: 1, std: null, min: -1, max: 2 };
    return t;
  };
  const tensors = Array.from({ length: 3000 }, (_, k) => tensor(k));
  const report: InspectReport = { kind: 'inspect', file: 'm.safetensors', format: 'safetensors', tensors, metadata: { a: 'b' }, warnings: ['w'] };

  it('are taken by the direct path when plain, and left to the walk with ties, links, parts or quantization', () => {
    const plain = tensors.filter((t) => t.tied_to === undefined && t.linked_to === undefined && t.quantization === undefined && t.real === undefined);
    expect(plain.length).toBeGreaterThan(2500);
    expect(plain.every(plainInspected)).toBe(true);
    expect(tensors.filter((t) => !plain.includes(t)).some(plainInspected)).toBe(false);
  });

  it('the streamed inspection JSON (tape after the first 1,024 tensors) equals JSON.stringify of the contract (both made terminal-safe)', async () => {
    const json = await text(
      (async function* () {
        yield* jsonSafeChunks(inspectJsonChunks(report, true)); // as the JSON renderer prints it (json-safe.ts)
      })(),
    );
    expect(json === renderJson(reportContract(report))).toBe(true);
  });
});
