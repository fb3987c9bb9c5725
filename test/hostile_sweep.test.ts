/**
 * The hostile suite, round three (issue 15): classes found by sweeping every input path as
 * an attacker would — user regular expressions run over names the file chooses (ReDoS),
 * HF_TOKEN with control characters, and forged or faulty part files for `diffai merge`. Each
 * must end with exit 2 and one line naming the file or setting and the problem, or work.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Engine } from '../src/engine/engine.js';
import { resolveRemote } from '../src/io/remote-path.js';
import { diffDirectories, diffFiles } from '../src/library.js';
import { cli, expectTrouble, requireBuild } from './helpers/cli.js';
import { ROOT } from './helpers/files.js';
import { safetensors } from './helpers/hostile_files.js';

requireBuild();
const TMP = mkdtempSync(join(tmpdir(), 'diffai-sweep-'));
const write = (name: string, data: Buffer | string): string => {
  const p = join(TMP, name);
  writeFileSync(p, data);
  return p;
};

describe('user regular expressions over hostile names (ReDoS)', () => {
  // `(a+)+$` against 60 a's and a '!' backtracks 2^60 times in a plain backtracking engine.
  const evil = `${'a'.repeat(60)}!`;
  const a = write('redos_a.safetensors', safetensors({ [evil]: [1], x: [1] }));
  const b = write('redos_b.safetensors', safetensors({ [evil]: [2], y: [1] }));

  it('--ignore-keys-regex and --rename finish, with the right result', async () => {
    const [ignored, renamed] = await Promise.all([
      cli([a, b, '--ignore-keys-regex', '(a+)+$', '-o', 'json']),
      cli([a, b, '--rename', '(a+)+$=z', '-o', 'json']),
    ]);
    expect(ignored.status, ignored.stderr).toBe(0);
    // The pattern matches no name (each ends in '!', or is x/y): the changed tensor stays.
    const names = (r: string) => (JSON.parse(r) as Array<Record<string, [string]>>).map((e) => Object.values(e)[0]![0]).sort();
    expect(names(ignored.stdout)).toEqual([evil, 'x', 'y'].sort());
    expect(renamed.status, renamed.stderr).toBe(0);
    expect(names(renamed.stdout)).toEqual([evil, 'x', 'y'].sort());
  });

  it('the library’s ignoreKeysRegex (a RegExp compiled by the caller) finishes too', async () => {
    const report = await diffFiles(a, b, { ignoreKeysRegex: /^(a+)+$/ });
    expect(report.results.map((r) => r.name).sort()).toEqual([evil, 'x', 'y'].sort());
  });
});

describe('HF_TOKEN that no header can carry', () => {
  it('is refused at once, naming the variable and never echoing it', async () => {
    const secret = 'hf_abc\r\nX-Injected: 1\u001b[31m';
    const saved = process.env.HF_TOKEN;
    process.env.HF_TOKEN = secret;
    try {
      expect(() => resolveRemote('hf://org/repo/m.safetensors')).toThrow(/HF_TOKEN holds a character an HTTP header cannot carry/);
    } finally {
      if (saved === undefined) delete process.env.HF_TOKEN;
      else process.env.HF_TOKEN = saved;
    }
    const r = await cli(['inspect', 'hf://org/repo/m.safetensors'], { HF_TOKEN: secret, HF_ENDPOINT: 'http://127.0.0.1:9' });
    expectTrouble(r, 'hf://org/repo/m.safetensors', /: HF_TOKEN holds a character an HTTP header cannot carry/);
    expect(r.stderr).not.toContain('Injected');
  });
});

describe('forged and faulty part files for diffai merge', () => {
  const A = join(ROOT, 'fixtures/core/digits_mlp.safetensors');
  const B = join(ROOT, 'fixtures/core/digits_mlp_finetuned.safetensors');
  let parts: [string, string] | undefined;
  const realParts = async (): Promise<[string, string]> => {
    if (parts) return parts;
    const rs = await Promise.all([1, 2].map((k) => cli([A, B, '--partition', `${k}/2`, '-o', 'partials'])));
    for (const r of rs) expect(r.status, r.stderr).toBe(0);
    parts = [write('p1.json', rs[0]!.stdout), write('p2.json', rs[1]!.stdout)];
    return parts;
  };
  /** Part 1 with its first record's `side` statistics changed by `edit`. */
  const forged = async (name: string, edit: (p: { records: Array<Record<string, { stats: Record<string, unknown> }>> }) => void) => {
    const [p1] = await realParts();
    const { readFileSync } = await import('node:fs');
    const p = JSON.parse(readFileSync(p1, 'utf8'));
    edit(p);
    return write(name, JSON.stringify(p));
  };

  it('the real parts merge', async () => {
    const [p1, p2] = await realParts();
    const r = await cli(['merge', p1, p2]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('fc1.bias');
  });

  it('a device or FIFO given as a part is refused at once (merge /dev/zero read forever)', async () => {
    const [, p2] = await realParts();
    expectTrouble(await cli(['merge', '/dev/zero', p2]), '/dev/zero', /not a regular file but a character device/);
  });

  const cases: Array<[string, (p: { records: Array<Record<string, { stats: Record<string, unknown> }>> }) => void, RegExp]> = [
    ['count 1e308', (p) => void (p.records[0]!.a!.stats.count = 1e308), /field count/],
    ['negative count', (p) => void (p.records[0]!.a!.stats.count = -5), /field count/],
    ['fractional NaN count', (p) => void (p.records[0]!.a!.stats.nan = 0.5), /field nan/],
    ['more zeros than values', (p) => void (p.records[0]!.a!.stats.zeros = 1e6), /field zeros/],
    ['negative m2', (p) => void (p.records[0]!.a!.stats.m2 = -1), /field m2/],
    ['min above max', (p) => void (p.records[0]!.a!.stats.min = 1e9), /fields min and max/],
    ['a record given twice', (p) => void p.records.push(p.records[0]!), /record \d+ repeats "/],
  ];
  for (const [label, edit, problem] of cases) {
    it(`${label}: exit 2, one line naming the part`, async () => {
      const [, p2] = await realParts();
      const bad = await forged(`${label.replace(/\W+/g, '_')}.json`, edit);
      expectTrouble(await cli(['merge', bad, p2]), bad, problem);
    });
  }
});

describe('a directory of many small models', () => {
  it('engines one after another share one kernel instance (a new one per pair cost ~10 ms and 26 MiB)', () => {
    const kernelsOf = (e: Engine) => (e as unknown as { kernels: object }).kernels;
    const first = new Engine();
    const k = kernelsOf(first);
    first.close();
    const second = new Engine();
    expect(kernelsOf(second)).toBe(k);
    const third = new Engine(); // while the second holds it, another engine makes its own
    expect(kernelsOf(third)).not.toBe(k);
    second.close();
    third.close();
  });

  it('200 pairs diff with exact per-file results', async () => {
    const { mkdirSync } = await import('node:fs');
    const [da, db] = [join(TMP, 'many_a'), join(TMP, 'many_b')];
    mkdirSync(da);
    mkdirSync(db);
    for (let i = 0; i < 200; i++) {
      writeFileSync(join(da, `m${i}.safetensors`), safetensors({ w: [i, 1, 2] }));
      writeFileSync(join(db, `m${i}.safetensors`), safetensors({ w: [i, 1, i % 2 === 0 ? 2 : 5] }));
    }
    const report = await diffDirectories(da, db);
    expect(report.files).toHaveLength(200);
    for (const f of report.files) {
      const i = Number(/m(\d+)/.exec(f.file)![1]);
      expect(f.status).toBe(i % 2 === 0 ? 'identical' : 'modified');
      if (i % 2 === 1) {
        const r = f.results[0] as { b: { max: number; mean: number } };
        expect([r.b.max, r.b.mean]).toEqual([Math.max(i, 5), (i + 1 + 5) / 3]);
      }
    }
  });
});
