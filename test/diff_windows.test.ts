/**
 * A diff in which every tensor changed, handed on in windows (differ.ts diffWindows) and
 * printed as it comes (the command line's streamed diff, Renderer.pairChunks): the windows
 * are small and in name order, the streamed text/JSON/YAML are byte for byte what the
 * renderers make of the whole report, the exit codes are those of the whole report, and the
 * printed numbers of a sample of tensors equal exact references computed here. The pair
 * (50,000 small tensors of six dtypes, names not in file order) is built at test time.
 */
import jsYaml from 'js-yaml';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { DiffResult } from '../src/diff/types.js';
import { diffFiles, diffFilesStreamed } from '../src/library.js';
import { compareNames } from '../src/names.js';
import { finiteOnly, reportContract } from '../src/render/contract.js';
import { render } from '../src/render/registry.js';
import { expectComparison, expectStats, type StatsLike, type ComparisonLike } from './helpers/assert.js';
import { cli, requireBuild } from './helpers/cli.js';
import { type TestDType, Rng, SIZE, decode, randomBytes } from './helpers/dtypes.js';
import { exactCompare, exactStats } from './helpers/exact.js';
import { type TensorSpec, tempDir, writeSafetensors } from './helpers/files.js';

vi.setConfig({ testTimeout: 300_000 });
const tmp = tempDir('diffai-windows-');
afterAll(() => tmp.cleanup());

const N = 50_000;
const DTYPES: TestDType[] = ['f16', 'bf16', 'i8', 'f32', 'u8', 'i32'];

/**
 * A: N tensors of 1–12 elements in shuffled file order, some named to sort before the
 * metadata entries (`Emb.*` < `__metadata__.*` < `blk.*`). B: the same, every tensor changed
 * in its first element (low byte flipped: finite stays finite), except 40 names only in A, 40
 * only in B and every 5000th tensor reshaped; one metadata entry modified.
 */
function pair(): { a: TensorSpec[]; b: TensorSpec[] } {
  const rng = new Rng(2026);
  const a: TensorSpec[] = Array.from({ length: N }, (_, i) => {
    const dtype = DTYPES[i % DTYPES.length]!;
    const n = 1 + ((i * 7) % 12);
    const name = i % 500 === 3 ? `Emb.${i}` : `blk.${i % 1000}.w${i}`;
    return { name, dtype, shape: [n], bytes: randomBytes(dtype, n, rng) };
  });
  const b: TensorSpec[] = [];
  a.forEach((t, i) => {
    if (i % 1250 === 11) return; // only in A
    if (i % 5000 === 7) {
      b.push({ ...t, shape: [t.shape[0]! + 1], bytes: randomBytes(t.dtype as TestDType, t.shape[0]! + 1, rng) });
      return;
    }
    const bytes = Uint8Array.from(t.bytes);
    bytes[0]! ^= 0x01;
    b.push({ ...t, bytes });
  });
  for (let k = 0; k < 40; k++) b.push({ name: `blk.${k}.extra${k}`, dtype: 'f32', shape: [2], bytes: randomBytes('f32', 2, rng) });
  const shuffle = (list: TensorSpec[]) => {
    for (let i = list.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [list[i], list[j]] = [list[j]!, list[i]!];
    }
    return list;
  };
  return { a: shuffle(a), b: shuffle(b) };
}

describe('a diff of 50,000 tensors that all changed, in windows', () => {
  const { a, b } = pair();
  const pathA = writeSafetensors(tmp.path('all_a.safetensors'), a, { format: 'pt', note: 'run 1' });
  const pathB = writeSafetensors(tmp.path('all_b.safetensors'), b, { format: 'pt', note: 'run 2' });
  const specA = new Map(a.map((t) => [t.name, t]));
  const specB = new Map(b.map((t) => [t.name, t]));

  /** What the diff must report, from the specs alone: [name, kind], in natural name order. */
  const expected = (() => {
    const out: Array<[string, DiffResult['kind']]> = [['__metadata__.note', 'Modified']];
    for (const [name, t] of specA) {
      const other = specB.get(name);
      if (!other) out.push([name, 'TensorRemoved']);
      else out.push([name, other.shape[0] === t.shape[0] ? 'TensorStatsChanged' : 'TensorShapeChanged']);
    }
    for (const name of specB.keys()) if (!specA.has(name)) out.push([name, 'TensorAdded']);
    return out.sort((x, y) => compareNames(x[0], y[0]));
  })();

  it('comes in small windows, in name order, holding exactly the expected differences', async () => {
    const windows: DiffResult[][] = [];
    await diffFilesStreamed(pathA, pathB, { threads: 1 }, async (stream) => {
      for await (const w of stream.windows) windows.push(w);
    });
    // Never the whole list at once: windows of a few hundred tensors' results.
    expect(windows.length).toBeGreaterThan(100);
    expect(Math.max(...windows.map((w) => w.length))).toBeLessThanOrEqual(512);
    const results = windows.flat();
    expect(results.map((r) => [r.name, r.kind])).toEqual(expected);
  });

  /** The command line's JSON of the pair (two tests read it). */
  let json: Promise<Awaited<ReturnType<typeof cli>>> | undefined;
  const jsonRun = () => (json ??= cli([pathA, pathB, '-o', 'json']));

  it('prints text, JSON and YAML byte for byte as the whole report renders, with the whole report’s exit codes', async () => {
    requireBuild();
    const report = await diffFiles(pathA, pathB, { threads: 1 });
    // YAML of a tenth of the names (`blk.1.…` and `blk.1NN.…`): js-yaml, the reference it is
    // checked against below, takes ~50 µs an entry.
    const subset = await diffFiles(pathA, pathB, { threads: 1, path: 'blk.1' });
    expect(subset.results.length).toBeGreaterThan(4000);
    const [text, jsonOut, yaml, withStats, brief, quiet] = await Promise.all([
      cli([pathA, pathB, '--exit-code']),
      jsonRun(),
      cli([pathA, pathB, '-o', 'yaml', '--path', 'blk.1']),
      cli([pathA, pathB, '--stats', '--path', 'blk.1']),
      cli([pathA, pathB, '--brief', '--path', 'blk.1']),
      cli([pathA, pathB, '--quiet', '--path', 'blk.1']),
    ]);
    for (const [format, r, whole, status] of [
      ['text', text, report, 1],
      ['json', jsonOut, report, 0],
      ['yaml', yaml, subset, 0],
    ] as const) {
      expect([r.status, r.stderr], format).toEqual([status, '']);
      expect(r.stdout === (await render(whole, format, {})), `${format} output differs from render() of the whole report`).toBe(true);
    }
    // The YAML writer (render/yaml-emit.ts) prints what js-yaml dumps of the contract.
    expect(yaml.stdout === jsYaml.dump(finiteOnly(reportContract(subset)), { noRefs: true, lineWidth: -1 }), 'YAML differs from js-yaml').toBe(true);
    expect(withStats.status).toBe(0);
    expect(withStats.stdout === (await render(subset, 'text', { stats: true })), '--stats text differs from render()').toBe(true);
    expect([brief.status, brief.stdout]).toEqual([1, `Files ${pathA} and ${pathB} differ\n`]);
    expect([quiet.status, quiet.stdout, quiet.stderr]).toEqual([1, '', '']);
  });

  it('prints, for a sample of tensors, the statistics and comparison of their exact references', async () => {
    requireBuild();
    const r = await jsonRun();
    expect(r.status).toBe(0);
    const entries = JSON.parse(r.stdout) as Array<Record<string, unknown[]>>;
    expect(entries.length).toBe(expected.length);
    const changed = entries.filter((e) => e.TensorStatsChanged !== undefined).map((e) => e.TensorStatsChanged!);
    expect(changed.length).toBe(expected.filter(([, kind]) => kind === 'TensorStatsChanged').length);
    let checked = 0;
    for (let k = 0; k < changed.length; k += 397) {
      const [name, statsA, statsB, cmp] = changed[k] as [string, StatsLike, StatsLike, ComparisonLike];
      const [ta, tb] = [specA.get(name)!, specB.get(name)!];
      const va = decode(ta.bytes, ta.dtype as TestDType);
      const vb = decode(tb.bytes, tb.dtype as TestDType);
      expect(va.length).toBe(ta.bytes.length / SIZE[ta.dtype as TestDType]);
      expectStats(statsA, exactStats(va), `${name} a`);
      expectStats(statsB, exactStats(vb), `${name} b`);
      expectComparison(cmp, exactCompare(va, vb), name);
      checked++;
    }
    expect(checked).toBeGreaterThan(100);
  });
  it('refuses Markdown (which builds the whole document) beyond 50,000 differences with one line and exit 2; fewer print', async () => {
    requireBuild();
    const [all, subset] = await Promise.all([cli([pathA, pathB, '-o', 'markdown']), cli([pathA, pathB, '-o', 'markdown', '--path', 'blk.1'])]);
    expect(expected.length).toBeGreaterThan(50_000);
    expect(all.status).toBe(2);
    expect(all.stdout).toBe('');
    expect(all.stderr.trim().split('\n')).toHaveLength(1);
    expect(all.stderr).toContain('-o markdown builds the whole document in memory and allows at most 50000 differences');
    expect(subset.status).toBe(0);
    expect(subset.stdout).toContain('blk.1');
  });
});
