/**
 * Partitioned runs (`--partition K/N -o partials`, `diffai merge`): for N = 1, 2 and 3 the
 * merged output equals the single run's output byte for byte, in every output format, with
 * the same exit status (whatever exit-code policy a plain diff has); the split is by bytes and
 * every share is computed once; bad part sets and bad part files are refused with exit 2 and
 * one line.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharesOf } from '../src/diff/partition.js';
import { cli, expectTrouble, requireBuild } from './helpers/cli.js';
import { core, tempDir } from './helpers/files.js';

const tmp = tempDir('diffai-partition-');
afterAll(() => tmp.cleanup());
beforeAll(requireBuild);

const PAIRS: Array<[string, string, string[]]> = [
  [core('digits_mlp.safetensors'), core('digits_mlp_finetuned.safetensors'), []],
  [core('digits_mlp_layer_added.safetensors'), core('digits_mlp_layer_removed.safetensors'), []],
  [core('digits_mlp.safetensors'), core('digits_mlp_nan_inf.safetensors'), ['--epsilon', '1e-4']],
  [core('digits_mlp_reshaped.safetensors'), core('adversarial.safetensors'), []],
  // Input and ordering options are recorded in the parts, so merge reads the files the same way.
  [
    core('digits_mlp.safetensors'),
    core('digits_mlp_finetuned.safetensors'),
    ['--rename', '^fc(\\d)\\.=dense$1.', '--sort-by-change-magnitude', '--path', 'dense'],
  ],
];

/** Writes the N part files of a pair (in parallel) and returns their paths. */
async function parts(a: string, b: string, extra: string[], n: number, tag: string): Promise<string[]> {
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const r = await cli([a, b, ...extra, '--partition', `${i + 1}/${n}`, '-o', 'partials']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      const path = tmp.path(`${tag}-${i + 1}of${n}.json`);
      writeFileSync(path, r.stdout);
      return path;
    }),
  );
}

// Child processes on a loaded 2-core machine: generous time per case.
const SLOW = 240_000;

describe('partitioned runs merge into the single run, byte for byte', () => {
  PAIRS.forEach(([a, b, extra], i) => {
    it(
      `pair ${i + 1}${extra.length ? ` (${extra.join(' ')})` : ''}: N = 1, 2, 3 (json), N = 3 also text and yaml`,
      async () => {
        const formats = ['text', 'json', 'yaml'];
        const singles = new Map((await Promise.all(formats.map((f) => cli([a, b, ...extra, '-o', f])))).map((r, j) => [formats[j]!, r]));
        for (const n of [1, 2, 3]) {
          const files = await parts(a, b, extra, n, `pair${i}`);
          // Shares hold disjoint records.
          const keys = files.flatMap((f) => (JSON.parse(readFileSync(f, 'utf8')) as { records: Array<{ key: string }> }).records.map((r) => r.key));
          expect(new Set(keys).size).toBe(keys.length);
          const wanted = n === 3 ? formats : ['json'];
          // Parts given in any order.
          const merged = await Promise.all(wanted.map((f) => cli(['merge', ...[...files].reverse(), '-o', f])));
          merged.forEach((m, j) => {
            const single = singles.get(wanted[j]!)!;
            expect(single.stdout.length).toBeGreaterThan(0);
            expect(m.stdout, `${wanted[j]} N=${n}`).toBe(single.stdout);
            expect(m.stderr, `${wanted[j]} N=${n}`).toBe(single.stderr);
            expect(m.status, `${wanted[j]} N=${n}`).toBe(single.status);
          });
        }
      },
      SLOW,
    );
  });

  it(
    'a share with nothing to compute is a valid part (more shares than tensors)',
    async () => {
      const [a, b] = PAIRS[0]!;
      const files = await parts(a, b, [], 7, 'many');
      const [single, merged] = await Promise.all([cli([a, b, '-o', 'json']), cli(['merge', ...files, '-o', 'json'])]);
      expect(merged.stdout).toBe(single.stdout);
    },
    SLOW,
  );
});

describe('the split is by bytes and deterministic', () => {
  it('contiguous shares of about equal bytes; a step lies in the share of its byte midpoint', () => {
    const step = (n: number) => n;
    const sizes = [10, 10, 10, 10, 60, 0, 0, 100];
    const plan = sizes as unknown as Parameters<typeof sharesOf>[0];
    // total 200: midpoints 5, 15, 25, 35, 70, 100, 100, 150 → ×3/200 → 0,0,0,0,1,1,1,2
    expect(sharesOf(plan, step as never, 3)).toEqual([0, 0, 0, 0, 1, 1, 1, 2]);
    expect(sharesOf(plan, step as never, 1)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    // Nothing to read (--shape-only): one share holds every step.
    expect(sharesOf([0, 0] as never, step as never, 4)).toEqual([0, 0]);
  });
});

describe('bad part sets and part files', () => {
  const [a, b] = PAIRS[0]!;
  let files: string[] = [];
  beforeAll(async () => {
    files = await parts(a, b, [], 3, 'bad');
  }, SLOW);

  it(
    'a missing share',
    async () => {
      expectTrouble(await cli(['merge', files[0]!, files[2]!]), 'merge: share 2/3 missing');
    },
    SLOW,
  );

  it(
    'a share given twice',
    async () => {
      expectTrouble(await cli(['merge', files[0]!, files[1]!, files[1]!, files[2]!]), files[1]!, /share 2\/3 is also in/);
    },
    SLOW,
  );

  it(
    'a part of another run (other options)',
    async () => {
      const other = tmp.path('other.json');
      const r = await cli([a, b, '--epsilon', '0.5', '--partition', '2/3', '-o', 'partials']);
      writeFileSync(other, r.stdout);
      expectTrouble(await cli(['merge', files[0]!, other, files[2]!]), other, /another run/);
    },
    SLOW,
  );

  it(
    'not JSON, a wrong format, a damaged record',
    async () => {
      const junk = tmp.path('junk.json');
      writeFileSync(junk, '\u0000\u0001garbage');
      expectTrouble(await cli(['merge', junk]), junk, /not a diffai part file/);
      const wrong = tmp.path('wrong.json');
      writeFileSync(wrong, JSON.stringify({ format: 'something else' }));
      expectTrouble(await cli(['merge', wrong]), wrong, /not a valid diffai part file \(format\)/);
      const damaged = tmp.path('damaged.json');
      const part = JSON.parse(readFileSync(files[0]!, 'utf8'));
      part.records[0].comparison.sumAB = 'lots';
      writeFileSync(damaged, JSON.stringify(part));
      expectTrouble(await cli(['merge', damaged, files[1]!, files[2]!]), damaged, /field sumAB/);
    },
    SLOW,
  );

  it(
    'merge takes no option the run fixed; -o partials belongs to partitioned diffs only',
    async () => {
      expectTrouble(await cli(['merge', ...files, '--epsilon', '1']), 'merge: --epsilon was fixed by the partitioned run');
      expectTrouble(await cli(['merge', ...files, '-o', 'partials']), 'merge: -o partials is the output of --partition runs');
      expectTrouble(await cli(['inspect', a, '-o', 'partials']), '-o partials is the output of partitioned runs');
      expectTrouble(
        await cli([a, b, '--partition', '1/2', '-o', 'partials', '--change-summary']),
        '--partition compares two model files; it does not take analyses',
      );
    },
    SLOW,
  );

  it(
    '--partition needs -o partials and a K/N with 1 ≤ K ≤ N',
    async () => {
      expectTrouble(await cli([a, b, '--partition', '1/2']), '--partition writes partial results');
      expectTrouble(await cli([a, b, '--partition', '3/2', '-o', 'partials']), '--partition must be K/N');
      expectTrouble(await cli([a, b, '--partition', 'x', '-o', 'partials']), '--partition must be K/N');
    },
    SLOW,
  );
});
