/**
 * Decompression work (issue 15): the inflate budget every reader shares (zip .pt storages,
 * .npz entries, MAT miCOMPRESSED variables, HDF5 deflate chunks, gunzipped input), and
 * compressed streams that several tensors share, inflated once. Bombs are built at test time
 * from one compressed 64 MiB block of zeros repeated (deflate's ~1030:1), or as small files
 * whose headers claim what a 100 MB bomb would hold; nothing large is written.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeModel } from '../src/formats/registry.js';
import { withLocalInputs } from '../src/formats/input.js';
import { INFLATE_FLOOR_BYTES, INFLATE_RATIO } from '../src/io/inflate.js';
import { cli, expectTrouble, requireBuild } from './helpers/cli.js';
import { ROOT } from './helpers/files.js';
import { matCompressed, matDouble, matFile, matStruct, npyRaw, safetensorsRaw } from './helpers/hostile_files.js';
import { deflatedZeros, gzipZeros, matZerosBomb, npzZerosBomb, ptZerosBomb } from './helpers/hostile_formats.js';
import { stateDictOf, viewTensor } from './helpers/hostile_pickle.js';
import { buildZip } from './helpers/zip.js';

requireBuild();
const TMP = mkdtempSync(join(tmpdir(), 'diffai-inflate-'));
const write = (name: string, data: Buffer): string => {
  const p = join(TMP, name);
  writeFileSync(p, data);
  return p;
};
const BUDGET = /inflates to \d+ bytes: more than \d+ bytes from \d+ compressed bytes, over the budget of 512 MiB plus 4 times/;

describe('the inflate budget: 512 MiB at any ratio plus 4 times the file', () => {
  it('zeros at deflate’s best ratio just past the floor are refused before inflating, in every container', async () => {
    // 640 MiB of zeros in ~650 KB: over 512 MiB + 4 × 650 KB.
    const bytes = 640 * 2 ** 20;
    const files = [write('bomb.npz', npzZerosBomb(bytes / 4)), write('bomb.pt', ptZerosBomb(bytes / 4)), write('bomb.mat', matZerosBomb(bytes / 8))];
    const results = await Promise.all(files.map((f) => cli(['inspect', f])));
    results.forEach((r, i) => {
      expectTrouble(r, files[i]!, new RegExp(`compressed tensor data ${BUDGET.source}`));
    });
  });

  it('files whose headers claim a 100 GB bomb are refused from the claim (the payload is never inflated)', async () => {
    const n = 25 * 2 ** 30; // float32 elements: 100 GiB
    const header = npyRaw(`{'descr': '<f4', 'fortran_order': False, 'shape': (${n},), }`);
    const npzPath = write(
      'claim.npz',
      buildZip([{ name: 'w.npy', data: Buffer.alloc(0), deflated: { payload: deflatedZeros(1 << 20, header), size: header.length + 4 * n } }], { zip64: true }),
    );
    const ptPath = write(
      'claim.pt',
      buildZip(
        [
          { name: 'archive/data.pkl', data: stateDictOf([['w', viewTensor('0', n, 0, [n], [1])]]) },
          { name: 'archive/data/0', data: Buffer.alloc(0), deflated: { payload: deflatedZeros(1 << 20), size: 4 * n } },
        ],
        { zip64: true },
      ),
    );
    const [npzR, ptR] = await Promise.all([cli(['inspect', npzPath]), cli(['inspect', ptPath, '--shape-only'])]);
    expect(expectTrouble(npzR, npzPath, BUDGET)).toContain(`${header.length + 4 * n} bytes`);
    expect(expectTrouble(ptR, ptPath, BUDGET)).toContain(`${4 * n} bytes`);
  });

  it('128 MiB of zeros in 128 KB (1000:1, under the floor) works with exact results in every container', async () => {
    const n = 32 << 20;
    const files = [write('ok.npz', npzZerosBomb(n)), write('ok.pt', ptZerosBomb(n)), write('ok.mat', matZerosBomb(n / 2))];
    for (const f of files) expect(readFileSync(f).length).toBeLessThan(150_000);
    const results = await Promise.all(files.map((f) => cli(['inspect', f, '-o', 'json'])));
    results.forEach((r, i) => {
      expect(r.status, r.stderr).toBe(0);
      const t = JSON.parse(r.stdout).tensors[0];
      const count = i === 2 ? n / 2 : n;
      expect([t.total_params, t.zero_count, t.mean]).toEqual([count, count, 0]);
    });
  });

  it('a gunzipped input (standard input or a .gz file) is counted as it inflates', async () => {
    const n = 16 << 20; // 64 MiB of float32 zeros after a safetensors header
    const header = safetensorsRaw(JSON.stringify({ w: { dtype: 'F32', shape: [n], data_offsets: [0, 4 * n] } }));
    const gz = write('zeros.safetensors.gz', gzipZeros(4 * n, header));
    // Within the default budget it works; with a 16 MiB allowance it is refused mid-stream.
    const ok = await cli(['inspect', gz, '-o', 'json']);
    expect(ok.status, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).tensors[0].zero_count).toBe(n);
    const limited = await cli(['inspect', gz], { DIFFAI_INFLATE_MAX_BYTES: String(16 << 20) });
    expectTrouble(limited, gz, /gzip data inflates to more than 16777216 bytes, the limit DIFFAI_INFLATE_MAX_BYTES sets/);
  });

  it('HDF5 deflate chunks count too (DIFFAI_INFLATE_MAX_BYTES below a real h5py file), and a bad setting is one line', async () => {
    const h5 = join(ROOT, 'fixtures/hdf5/generic.h5');
    const ok = await cli(['inspect', h5, '--shape-only']);
    expect(ok.status, ok.stderr).toBe(0);
    const [limited, bad] = await Promise.all([
      cli(['inspect', h5, '--shape-only'], { DIFFAI_INFLATE_MAX_BYTES: '100' }),
      cli(['inspect', h5], { DIFFAI_INFLATE_MAX_BYTES: 'lots\u001b[31m' }),
    ]);
    expectTrouble(limited, h5, /compressed tensor data inflates to \d+ bytes: more than 100 bytes, the limit DIFFAI_INFLATE_MAX_BYTES sets/);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^diffai: DIFFAI_INFLATE_MAX_BYTES must be a positive whole number of bytes, got "lots\\u001b\[31m"\n$/);
  });

  it('the floor and ratio are the documented ones', () => {
    expect([INFLATE_FLOOR_BYTES, INFLATE_RATIO]).toEqual([2 ** 29, 4]);
  });
});

describe('a compressed stream that several tensors share is inflated once', () => {
  // Six fields of 512 Ki doubles each (values i % 251 + field), one compressed struct: read
  // one by one, the fields would inflate 6 × ~12 MB on average, the struct once 25 MB.
  const FIELDS = 6;
  const N = 512 << 10;
  const values = (f: number) => Array.from({ length: N }, (_, i) => (i % 251) + f);

  it('MAT struct fields: exact statistics, read from one inflated copy', async () => {
    const fields: Record<string, Buffer> = {};
    for (let f = 0; f < FIELDS; f++) fields[`w${f}`] = matDouble('', [N, 1], values(f));
    const path = write('struct.mat', matFile([matCompressed(matStruct('net', fields))]));
    const r = await cli(['inspect', path, '-o', 'json']);
    expect(r.status, r.stderr).toBe(0);
    const tensors = JSON.parse(r.stdout).tensors as Array<{ name: string; mean: number; max: number; total_params: number }>;
    expect(tensors.map((t) => t.name).sort()).toEqual(Array.from({ length: FIELDS }, (_, f) => `net.w${f}`));
    for (const t of tensors) {
      const f = Number(t.name.slice(5));
      let sum = 0;
      for (const v of values(f)) sum += v;
      expect(t.total_params).toBe(N);
      expect(t.mean).toBeCloseTo(sum / N, 12);
      expect(t.max).toBe(250 + f);
    }
    // The mechanism: every field now reads one spooled copy by position.
    await withLocalInputs([path], async () => {
      const d = await describeModel(path);
      const sources = d.tensors.map((t) => t.source);
      expect(sources.every((s) => s.kind === 'file')).toBe(true);
      expect(new Set(sources.map((s) => s.path)).size).toBe(1);
      expect(sources[0]!.path).not.toBe(path);
    });
  });

  it('views of one deflated .pt storage: exact statistics from the inflated copy', async () => {
    const n = 4 << 20;
    const data = new Float32Array(n).map((_, i) => (i % 97) - 48);
    const quarter = n / 4;
    const views: Array<[string, Buffer]> = [0, 1, 2, 3].map((k) => [`v${k}`, viewTensor('0', n, k * quarter, [quarter], [1])]);
    const path = write(
      'views.pt',
      buildZip([
        { name: 'archive/data.pkl', data: stateDictOf(views) },
        { name: 'archive/data/0', data: Buffer.from(data.buffer), deflate: true },
      ]),
    );
    const r = await cli(['inspect', path, '-o', 'json']);
    expect(r.status, r.stderr).toBe(0);
    for (const t of JSON.parse(r.stdout).tensors as Array<{ name: string; mean: number; min: number }>) {
      const k = Number(t.name.slice(1));
      let sum = 0;
      for (let i = k * quarter; i < (k + 1) * quarter; i++) sum += data[i]!;
      expect(t.mean).toBeCloseTo(sum / quarter, 9);
      expect(t.min).toBe(-48);
    }
  });
});
