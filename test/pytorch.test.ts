/**
 * PyTorch reader: descriptors (names, dtypes, shapes, sources, views), leaves, and refusal of
 * hostile files. Tensor bytes are decoded (test/helpers/decode.ts) straight from the byte
 * ranges the descriptors point at (node fs + zlib), so offsets, strides and byte order are
 * really checked against the float64 reference statistics torch recorded
 * (fixtures/generate_pytorch.py).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { byteLength } from '../src/dtypes.js';
import { DiffaiError } from '../src/errors.js';
import { describePytorch, pytorchReader } from '../src/formats/pytorch/reader.js';
import type { ModelDescription } from '../src/formats/types.js';
import { type RefStats as BaseRefStats, decodeTensor, referenceStats } from './helpers/decode.js';

const FIX = join(import.meta.dirname, '..', 'fixtures', 'pytorch');

/** The generator's statistics, with the element count it also records. */
interface RefStats extends BaseRefStats {
  count: number;
}
interface RefTensor {
  dtype: string;
  shape: number[];
  stats: RefStats | { real: RefStats; imag: RefStats; l2_norm: number };
  values?: unknown[];
  quantization?: { scheme: string; scale: number; zeroPoint: number };
}
interface RefFile {
  format: string;
  tensors?: Record<string, RefTensor>;
  leaves?: Record<string, unknown>;
  views?: string[];
  error?: string;
  byteOrder?: string;
  notes?: { skipped?: string[] };
}
const REFERENCE = JSON.parse(readFileSync(join(FIX, 'reference.json'), 'utf8')) as Record<string, RefFile>;

// ------------------------------------------------------------------ checking helpers
// (decoding: test/helpers/decode.ts — the bytes a source points at, the logical tensor in C
// order following the view, the generators' float64 statistics)

function close(a: number | null, b: number | null, tol = 1e-9): void {
  if (a === null || b === null) {
    expect(a).toBe(b);
    return;
  }
  expect(Math.abs(a - b)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b)));
}

function expectStats(actual: RefStats, ref: RefStats): void {
  for (const k of ['nan_count', 'posinf_count', 'neginf_count', 'zero_count', 'count'] as const) expect(actual[k]).toBe(ref[k]);
  for (const k of ['mean', 'std', 'min', 'max', 'l2_norm'] as const) close(actual[k], ref[k]);
}

function encodeValue(v: number | [number, number]): unknown {
  if (Array.isArray(v)) return v.map((x) => encodeValue(x));
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  return v;
}

async function rejection(path: string): Promise<DiffaiError> {
  try {
    await describePytorch(path);
  } catch (e) {
    expect(e).toBeInstanceOf(DiffaiError);
    return e as DiffaiError;
  }
  throw new Error(`${path} was accepted`);
}

function sniffFile(path: string): boolean {
  const head = readFileSync(path).subarray(0, 64);
  return pytorchReader.sniff(head, path);
}

// ------------------------------------------------------------------ valid fixtures

const valid = Object.entries(REFERENCE).filter(([, r]) => !r.error);
const hostile = Object.entries(REFERENCE).filter(([, r]) => r.error);

describe('pytorch fixtures: descriptors match torch', () => {
  it('has fixtures', () => {
    expect(valid.length).toBeGreaterThan(15);
    expect(hostile.length).toBeGreaterThan(20);
  });

  for (const [file, ref] of valid) {
    it(file, async () => {
      const path = join(FIX, file);
      expect(sniffFile(path)).toBe(true);
      const desc: ModelDescription = await describePytorch(path);
      expect(desc.format).toBe('pytorch');
      const names = desc.tensors.map((t) => t.name).sort();
      expect(names).toEqual(Object.keys(ref.tensors!).sort());
      for (const t of desc.tensors) {
        const r = ref.tensors![t.name]!;
        expect(t.dtype, t.name).toBe(r.dtype);
        expect(t.shape, t.name).toEqual(r.shape);
        expect(t.numel).toBe(r.shape.reduce((a, b) => a * b, 1));
        if (ref.byteOrder === 'big' && byteLength(t.dtype, 1) > 1) expect(t.byteOrder).toBe('big');
        else expect(t.byteOrder).toBe('little');
        // views: exactly the strided tensors carry one; contiguous slices are narrowed sources
        if (ref.views) expect(t.view !== undefined, `${t.name} view`).toBe(ref.views.includes(t.name));
        const vals = decodeTensor(t);
        expect(vals.length).toBe(t.numel);
        if (r.quantization) {
          expect(t.quantization).toEqual(r.quantization);
          expect(vals).toEqual(r.values);
          const deq = (vals as number[]).map((v) => (v - r.quantization!.zeroPoint) * r.quantization!.scale);
          expectStats(referenceStats(deq), r.stats as RefStats);
          continue;
        }
        if (r.values) expect(vals.map(encodeValue), t.name).toEqual(r.values);
        if ('real' in r.stats) {
          const c = vals as [number, number][];
          expectStats(referenceStats(c.map((z) => z[0])), r.stats.real);
          expectStats(referenceStats(c.map((z) => z[1])), r.stats.imag);
        } else {
          expectStats(referenceStats(vals as number[]), r.stats);
        }
      }
      for (const [k, v] of Object.entries(ref.leaves ?? {})) expect(desc.leaves[k], k).toEqual(v);
      if (ref.format !== 'torchscript') expect(Object.keys(desc.leaves).sort()).toEqual(Object.keys(ref.leaves ?? {}).sort());
    });
  }

  it('checkpoint: nested names, optimizer state, Namespace fields', async () => {
    const d = await describePytorch(join(FIX, 'checkpoint_zip.pt'));
    const names = d.tensors.map((t) => t.name);
    expect(names).toContain('model_state_dict.fc1.weight');
    expect(names).toContain('optimizer_state_dict.state.0.exp_avg');
    expect(names).toContain('optimizer_state_dict.state.3.exp_avg_sq');
    expect(d.leaves['epoch']).toBe(7);
    expect(d.leaves['args.lr']).toBe(0.001);
    expect(d.leaves['args.name']).toBe('run-1');
    expect(d.leaves['args.betas']).toEqual([0.9, 0.999]);
    expect(d.leaves['optimizer_state_dict.param_groups.0.params']).toEqual([0, 1, 2, 3]);
    // the OrderedDict's BUILD state (_metadata) must not leak in as items
    expect(names.some((n) => n.includes('_metadata'))).toBe(false);
    expect(Object.keys(d.leaves).some((n) => n.includes('_metadata'))).toBe(false);
  });

  it('zip, legacy and protocol-4 checkpoints describe the same tensors and leaves', async () => {
    const a = await describePytorch(join(FIX, 'checkpoint_zip.pt'));
    const b = await describePytorch(join(FIX, 'checkpoint_legacy.pt'));
    const c = await describePytorch(join(FIX, 'checkpoint_protocol4.pt'));
    const shape = (d: ModelDescription) => d.tensors.map((t) => `${t.name} ${t.dtype} ${t.shape.join('x')}`).sort();
    expect(shape(b)).toEqual(shape(a));
    expect(shape(c)).toEqual(shape(a));
    expect(b.leaves).toEqual(a.leaves);
    expect(c.leaves).toEqual(a.leaves);
  });

  it('views: one storage, right offsets and strides', async () => {
    for (const f of ['views_zip.pt', 'views_legacy.pt']) {
      const d = await describePytorch(join(FIX, f));
      const by = new Map(d.tensors.map((t) => [t.name, t]));
      const base = by.get('base')!;
      expect(base.view).toBeUndefined();
      const src = base.source as { offset: number; length: number };
      expect(by.get('transposed')!.view).toEqual({ offset: 0, strides: [1, 10] });
      expect(by.get('strided')!.view).toEqual({ offset: 0, strides: [10, 3] });
      expect(by.get('col_7')!.view).toEqual({ offset: 7, strides: [10] });
      expect(by.get('block')!.view).toEqual({ offset: 12, strides: [10, 1] });
      // strided views point at the whole storage; contiguous slices at their own bytes
      expect(by.get('transposed')!.source).toEqual(base.source);
      expect(by.get('rows_2_4')!.source).toMatchObject({ offset: src.offset + 20 * 4, length: 20 * 4 });
      expect(by.get('tail')!.source).toMatchObject({ offset: src.offset + 50 * 4, length: 10 * 4 });
      expect(by.get('elem_3_4')!.source).toMatchObject({ offset: src.offset + 34 * 4, length: 4 });
      expect(by.get('elem_3_4')!.shape).toEqual([]);
    }
  });

  it('special: 0-dim, empty and tied tensors', async () => {
    for (const f of ['special_zip.pt', 'special_legacy.pt']) {
      const d = await describePytorch(join(FIX, f));
      const by = new Map(d.tensors.map((t) => [t.name, t]));
      expect(by.get('scalar')).toMatchObject({ shape: [], numel: 1, dtype: 'f32' });
      expect(by.get('empty')).toMatchObject({ shape: [0, 4], numel: 0 });
      expect(by.get('empty')!.source).toMatchObject({ length: 0 });
      expect(by.get('lm_head.weight')!.source).toEqual(by.get('embed.weight')!.source);
    }
  });

  it('quantized: per-tensor described with scale/zero point, per-channel skipped with a warning', async () => {
    const d = await describePytorch(join(FIX, 'quantized.pt'));
    const q = d.tensors.find((t) => t.name === 'q_int8')!;
    expect(q.dtype).toBe('i8');
    expect(q.quantization).toEqual({ scheme: 'qint8', scale: 0.05, zeroPoint: 3 });
    expect(q.notes?.join(' ')).toMatch(/qint8/);
    expect(d.tensors.find((t) => t.name === 'q_per_channel')).toBeUndefined();
    expect(d.warnings.join('\n')).toMatch(/q_per_channel.*per_channel_affine/);
  });

  it('TorchScript archive and pickled nn.Module yield state_dict names', async () => {
    const ts = await describePytorch(join(FIX, 'torchscript.pt'));
    expect(ts.warnings.join('\n')).toMatch(/TorchScript/);
    const mod = await describePytorch(join(FIX, 'module_pickled.pt'));
    expect(mod.warnings.join('\n')).toMatch(/nn\.Module torch\.nn\.modules\.container\.Sequential/);
    expect(mod.tensors.map((t) => t.name)).toContain('1.running_mean');
    expect(mod.tensors.find((t) => t.name === '1.num_batches_tracked')!.dtype).toBe('i64');
  });

  it('deflated entries under another root folder become deflate sources', async () => {
    const d = await describePytorch(join(FIX, 'state_dict_deflated.pt'));
    for (const t of d.tensors) expect(t.source.kind).toBe('deflate');
  });

  it('numpy values inside a protocol-4 checkpoint', async () => {
    const d = await describePytorch(join(FIX, 'numpy_values.pt'));
    const a = d.tensors.find((t) => t.name === 'np_array')!;
    expect(a).toMatchObject({ dtype: 'f64', shape: [3, 4] });
    expect(d.leaves['np_scalar']).toBe(2.5);
    expect(d.leaves['np_int']).toBe(-3);
  });
});

// ------------------------------------------------------------------ hostile fixtures

describe('pytorch: hostile and broken files are refused quickly and clearly', () => {
  for (const [file, ref] of hostile) {
    it(file, async () => {
      const t0 = performance.now();
      const err = await rejection(join(FIX, file));
      const ms = performance.now() - t0;
      expect(err.message.toLowerCase()).toContain(ref.error!.toLowerCase());
      expect(err.message).not.toMatch(/\n/);
      expect(err.file).toBe(join(FIX, file));
      expect(ms).toBeLessThan(3000);
    });
  }
});

// ------------------------------------------------------------------ other formats

describe('pytorch: does not claim other formats', () => {
  it('does not claim .npz or safetensors files', async () => {
    const { readdirSync } = await import('node:fs');
    const dirs = [join(import.meta.dirname, '..', 'fixtures', 'numpy'), join(import.meta.dirname, '..', 'fixtures', 'core')];
    const others = dirs.flatMap((d) =>
      readdirSync(d)
        .filter((f) => (f.endsWith('.npz') || f.endsWith('.safetensors')) && !f.startsWith('bad'))
        .map((f) => join(d, f)),
    );
    expect(others.filter((f) => f.endsWith('.npz')).length).toBeGreaterThan(0);
    expect(others.filter((f) => f.endsWith('.safetensors')).length).toBeGreaterThan(0);
    for (const f of others) expect(sniffFile(f), f).toBe(false);
  });
});
