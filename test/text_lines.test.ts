/**
 * Text that never hides a change (issue 14, item 9): a `~` line shows more decimals where 4
 * print the same value, shows NaN/±Inf count changes, says what changed when no statistic
 * moved; names sort naturally. Small files written here; expected text from the values
 * written (exact in f64), not from diffai's output.
 */
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareNames } from '../src/names.js';
import { moved } from '../src/render/text.js';
import { cli, requireBuild } from './helpers/cli.js';
import { f32Bytes, f64Bytes } from './helpers/dtypes.js';
import { safetensorsBytes, tempDir, type TensorSpec } from './helpers/files.js';

beforeAll(requireBuild);
const tmp = tempDir('diffai-text-');
afterAll(() => tmp.cleanup());

function pairOf(name: string, a: TensorSpec[], b: TensorSpec[]): [string, string] {
  writeFileSync(tmp.path(`${name}-a.safetensors`), safetensorsBytes(a));
  writeFileSync(tmp.path(`${name}-b.safetensors`), safetensorsBytes(b));
  return [tmp.path(`${name}-a.safetensors`), tmp.path(`${name}-b.safetensors`)];
}
const f64 = (name: string, values: number[]): TensorSpec => ({ name, dtype: 'f64', shape: [values.length], bytes: f64Bytes(values) });
const f32 = (name: string, values: number[]): TensorSpec => ({ name, dtype: 'f32', shape: [values.length], bytes: f32Bytes(values) });

describe.concurrent('~ lines', () => {
  it('4 decimals that print alike get more: mean 1.00001 -> 1.00002, std 0.00001 -> 0.00002', async () => {
    const [a, b] = pairOf('close', [f64('x', [1, 1.00002])], [f64('x', [1, 1.00004])]);
    const r = await cli([a, b]);
    expect([r.status, r.stdout]).toEqual([0, '  ~ x: mean=1.00001->1.00002, std=0.00001->0.00002\n']);
  });

  it('NaN injected: the finite statistics are equal, so they are shown once, and nan=0->2 says what changed', async () => {
    const [a, b] = pairOf('nan', [f32('x', [1, 2, 1, 2])], [f32('x', [1, 2, Number.NaN, Number.NaN])]);
    const [text, stats] = await Promise.all([cli([a, b]), cli([a, b, '--stats'])]);
    expect(text.stdout).toBe('  ~ x: mean=1.5000, std=0.5000, nan=0->2\n');
    expect(stats.stdout).toBe('  ~ x: mean=1.5000, std=0.5000, min=1.0000, max=2.0000, nan=0->2\n');
  });

  it('±Inf counts that changed are shown with the statistics that moved', async () => {
    const [a, b] = pairOf('inf', [f32('x', [1, 2, 3, Number.NEGATIVE_INFINITY])], [f32('x', [1, 2, Number.POSITIVE_INFINITY, 4])]);
    // A: finite 1,2,3 (mean 2, std sqrt(2/3)); B: finite 1,2,4 (mean 7/3, std sqrt(14/9)).
    const r = await cli([a, b]);
    expect(r.stdout).toBe(
      `  ~ x: mean=${(2).toFixed(4)}->${(7 / 3).toFixed(4)}, std=${Math.sqrt(2 / 3).toFixed(4)}->${Math.sqrt(14 / 9).toFixed(4)}, +inf=0->1, -inf=1->0\n`,
    );
  });

  it('a permutation moves no statistic: the line says how many elements changed and by how much', async () => {
    const [a, b] = pairOf('perm', [f32('x', [1, 2, 3, 4])], [f32('x', [4, 3, 2, 1])]);
    const r = await cli([a, b]);
    expect(r.stdout).toBe(`  ~ x: mean=2.5000, std=${Math.sqrt(1.25).toFixed(4)}, changed_elements=4, max_abs_diff=3.0000\n`);
  });

  it('names sort naturally: layers.2 before layers.10, in diff and in inspect', async () => {
    const names = ['layers.10.w', 'layers.2.w', 'layers.1.w', 'layers.2.b', 'head'];
    const [a, b] = pairOf(
      'order',
      names.map((n) => f32(n, [1, 2])),
      names.map((n) => f32(n, [1, 3])),
    );
    const [diff, inspect] = await Promise.all([cli([a, b]), cli(['inspect', a])]);
    const order = ['head', 'layers.1.w', 'layers.2.b', 'layers.2.w', 'layers.10.w'];
    expect(
      diff.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(':')[0]!.slice(4)),
    ).toEqual(order);
    expect(
      inspect.stdout
        .split('\n')
        .slice(1)
        .filter(Boolean)
        .map((l) => l.trim().split(':')[0]),
    ).toEqual(order);
  });
});

describe('moved(): the rule itself', () => {
  it('4 decimals when they differ; more when they collide; the shortest exact form as a last resort', () => {
    expect(moved('mean', 0.0018, 0.0017)).toBe('mean=0.0018->0.0017');
    expect(moved('mean', 0.00021, 0.00024)).toBe('mean=0.00021->0.00024');
    expect(moved('std', 0.1, 0.1 + 2 ** -55)).toBe(`std=${(0.1).toFixed(17)}->${(0.1 + 2 ** -55).toFixed(17)}`);
    expect(moved('max', 1e22, 1e22 + 2 ** 21)).toBe(`max=${String(1e22)}->${String(1e22 + 2 ** 21)}`);
    expect(moved('mean', 0.5, 0.5)).toBe('mean=0.5000');
    expect(moved('mean', null, null)).toBe('mean=none');
    expect(moved('mean', null, 1)).toBe('mean=none->1.0000');
  });
});

describe('compareNames', () => {
  it('runs of digits as numbers, the rest by code point, ties by code point', () => {
    const sorted = ['b', 'a.10', 'a.9', 'a.09', 'a', 'layers.10.weight', 'layers.2.weight', 'x99999999999999999999', 'x100000000000000000000', 'A'].sort(
      compareNames,
    );
    expect(sorted).toEqual(['A', 'a', 'a.09', 'a.9', 'a.10', 'b', 'layers.2.weight', 'layers.10.weight', 'x99999999999999999999', 'x100000000000000000000']);
    for (const x of sorted) for (const y of sorted) expect(Math.sign(compareNames(x, y)) + Math.sign(compareNames(y, x)), `${x} ${y}`).toBe(0);
  });

  it('agrees with the definition (split into digit and non-digit runs) on random names', () => {
    // The definition, written with regular expressions and substrings; the module walks runs in place.
    const byRuns = (x: string, y: string): number => {
      if (x === y) return 0;
      const rx = x.match(/\d+|\D+/g) ?? [];
      const ry = y.match(/\d+|\D+/g) ?? [];
      for (let i = 0; i < Math.min(rx.length, ry.length); i++) {
        const [a, b] = [rx[i]!, ry[i]!];
        if (a === b) continue;
        if (/^\d/.test(a) && /^\d/.test(b)) {
          const [p, q] = [a.replace(/^0+(?=\d)/, ''), b.replace(/^0+(?=\d)/, '')];
          if (p.length !== q.length) return p.length - q.length;
          if (p !== q) return p < q ? -1 : 1;
        } else return a < b ? -1 : 1;
      }
      if (rx.length !== ry.length) return rx.length - ry.length;
      return x < y ? -1 : 1;
    };
    const parts = ['0', '1', '9', '00', '01', '10', 'a', 'b', 'A', '.', '_', 'é', '\u{1F600}'];
    let seed = 7;
    const pick = (n: number) => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed % n;
    };
    const name = () => Array.from({ length: pick(6) }, () => parts[pick(parts.length)]).join('');
    for (let t = 0; t < 20_000; t++) {
      const [x, y] = [name(), name()];
      expect(Math.sign(compareNames(x, y)), JSON.stringify([x, y])).toBe(Math.sign(byRuns(x, y)));
    }
  });
});
