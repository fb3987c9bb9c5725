/**
 * Remote PyTorch zip archives over HTTP Range requests, against a local server on 127.0.0.1:
 * the local headers are not fetched one by one (torch archives with 240 storages, made by
 * torch), `--shape-only` costs a constant few requests and a full diff streams the data in a
 * bounded number; results equal the local files' and torch's own sums; a local header that
 * contradicts where the data was placed is refused before its bytes are used.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coalesceRanges, mapLimited } from '../src/io/coalesce.js';
import { cli, requireBuild } from './helpers/cli.js';
import { ROOT, tempDir } from './helpers/files.js';
import { RangeServer } from './helpers/range_server.js';

const FIXTURES = join(ROOT, 'fixtures', 'remote');
const STORAGES = 240;
interface Reference {
  [file: string]: { bytes: number; tensors: Record<string, { sum: number; sum_squares: number }> };
}
const REFERENCE: Reference = JSON.parse(readFileSync(join(FIXTURES, 'reference.json'), 'utf8'));

const tmp = tempDir('diffai-remote-pt-');
const served = new Map<string, Uint8Array>();
const local = (name: string) => tmp.path(name);
let server: RangeServer;

/** The archive with the local header of `entry` claiming `delta` more extra bytes than it has. */
function shiftedLocalHeader(bytes: Uint8Array, entry: string, delta: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  const at = Buffer.from(out.buffer).indexOf(Buffer.from(`${entry}FB`, 'latin1')); // the name, then torch's padding field
  const header = at - 30;
  expect(at).toBeGreaterThan(30);
  expect([...out.subarray(header, header + 4)]).toEqual([0x50, 0x4b, 0x03, 0x04]);
  const view = new DataView(out.buffer);
  view.setUint16(header + 28, view.getUint16(header + 28, true) + delta, true);
  return out;
}

beforeAll(async () => {
  requireBuild();
  for (const name of ['many_a.pt', 'many_b.pt', 'many_a_streamed.pt', 'many_a_legacy.pt']) {
    const bytes = gunzipSync(readFileSync(join(FIXTURES, `${name}.gz`)));
    if (REFERENCE[name]) expect(bytes.length).toBe(REFERENCE[name]!.bytes);
    served.set(name, bytes);
    writeFileSync(local(name), bytes);
  }
  const tampered = shiftedLocalHeader(served.get('many_a.pt')!, 'archive/data/5', 4);
  served.set('tampered.pt', tampered);
  writeFileSync(local('tampered.pt'), tampered);
  server = await new RangeServer((path) => served.get(path)).start();
});

afterAll(async () => {
  await server?.stop();
  tmp.cleanup();
});

const url = (name: string, mode = 'r') => `${server.base}/${mode}/${name}`;

/** Runs the same command on the local files and on their URLs: same output, and the requests each remote file took. */
async function sameAsLocal(names: string[], args: string[], command: string[] = [], mode = 'r'): Promise<{ stdout: string; requests: number[] }> {
  const before = names.map((n) => server.count(`/${mode}/${n}`));
  const [l, r] = await Promise.all([cli([...command, ...names.map(local), ...args]), cli([...command, ...names.map((n) => url(n, mode)), ...args])]);
  expect(r.stderr).toBe(l.stderr.replaceAll(`${tmp.dir}/`, `${server.base}/${mode}/`));
  expect(r.status).toBe(l.status);
  expect(r.stdout.replaceAll(`${server.base}/${mode}/`, '')).toBe(l.stdout.replaceAll(`${tmp.dir}/`, ''));
  return { stdout: r.stdout, requests: names.map((n, i) => server.count(`/${mode}/${n}`) - before[i]!) };
}

describe('coalescing helpers', () => {
  it('merges ranges across small gaps up to the length limit, and keeps overlaps whole', () => {
    const limits = { maxGap: 10, maxLength: 100 };
    expect(
      coalesceRanges(
        [
          [50, 60],
          [0, 5],
          [8, 20],
          [200, 201],
          [65, 70],
          [70, 70],
        ],
        limits,
      ),
    ).toEqual([
      [0, 20],
      [50, 70],
      [200, 201],
    ]);
    // 0-60 and 65-120 would make 120 bytes: two requests; an overlap stays one range even past the limit.
    expect(
      coalesceRanges(
        [
          [0, 60],
          [65, 120],
        ],
        limits,
      ),
    ).toEqual([
      [0, 60],
      [65, 120],
    ]);
    expect(
      coalesceRanges(
        [
          [0, 90],
          [50, 150],
        ],
        limits,
      ),
    ).toEqual([[0, 150]]);
  });

  it('runs at most `limit` tasks at once and keeps the results in order', async () => {
    let running = 0;
    let most = 0;
    const out = await mapLimited([5, 1, 4, 2, 3, 0], 2, async (ms) => {
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, ms * 3));
      running--;
      return ms * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30, 0]);
    expect(most).toBe(2);
  });
});

// Several CLI processes at once; a loaded 2-core machine needs the time.
describe('remote PyTorch archives', { timeout: 180_000 }, () => {
  it(`--shape-only reads an archive of ${STORAGES} storages in at most 3 requests (the first window, the central directory)`, async () => {
    const { stdout, requests } = await sameAsLocal(['many_a.pt', 'many_b.pt'], ['--shape-only', '-o', 'json']);
    expect(JSON.parse(stdout)).toEqual([]); // same names, shapes and dtypes
    for (const n of requests) expect(n).toBeLessThanOrEqual(3);
    const inspected = await sameAsLocal(['many_a.pt'], ['--shape-only', '-o', 'json'], ['inspect']);
    expect(JSON.parse(inspected.stdout).tensors).toHaveLength(STORAGES);
    expect(inspected.requests[0]).toBeLessThanOrEqual(3);
  });

  it('a full diff streams the data in a bounded number of requests, equal to the local diff', async () => {
    const { stdout, requests } = await sameAsLocal(['many_a.pt', 'many_b.pt'], ['-o', 'json', '--threads', '1']);
    const diffs = JSON.parse(stdout) as Array<Record<string, unknown[]>>;
    // Every bias is redrawn; every weight but layer 0's is scaled.
    expect(diffs.filter((d) => 'TensorStatsChanged' in d).length).toBe(STORAGES - 1);
    for (const n of requests) expect(n).toBeLessThanOrEqual(6);
    const threaded = await sameAsLocal(['many_a.pt', 'many_b.pt'], ['-o', 'json', '--threads', '2']);
    expect(threaded.stdout).toBe(stdout);
    for (const n of threaded.requests) expect(n).toBeLessThanOrEqual(8);
  });

  it('inspect of the remote archive gives the sums torch computed', async () => {
    const r = await cli(['inspect', url('many_b.pt'), '-o', 'json']);
    expect(r.stderr).toBe('');
    const tensors = JSON.parse(r.stdout).tensors as Array<{ name: string; mean: number; l2_norm: number; total_params: number }>;
    const want = REFERENCE['many_b.pt']!.tensors;
    expect(tensors.map((t) => t.name).sort()).toEqual(Object.keys(want).sort());
    for (const t of tensors) {
      const ref = want[t.name]!;
      expect(t.mean * t.total_params).toBeCloseTo(ref.sum, 9);
      expect(t.l2_norm ** 2 / ref.sum_squares).toBeCloseTo(1, 12);
    }
  });

  it('an archive re-zipped with data descriptors and no alignment: its local headers are read together, not one by one', async () => {
    const shapes = await sameAsLocal(['many_a_streamed.pt', 'many_b.pt'], ['--shape-only', '-o', 'json']);
    expect(JSON.parse(shapes.stdout)).toEqual([]);
    // ~8 MB of archive in requests of at most 4 MiB (the headers lie 64 KiB apart), plus the first window and the tail.
    expect(shapes.requests[0]).toBeLessThanOrEqual(6);
    const full = await sameAsLocal(['many_a_streamed.pt', 'many_a.pt'], ['-o', 'json']);
    expect(JSON.parse(full.stdout)).toEqual([]); // the same tensors as the archive torch wrote
    expect(full.requests[0]).toBeLessThanOrEqual(10);
  });

  it('legacy (pre-zip) torch files: storages placed by the counts the pickle declares, checked before use', async () => {
    const shapes = await sameAsLocal(['many_a_legacy.pt', 'many_b.pt'], ['--shape-only', '-o', 'json']);
    expect(JSON.parse(shapes.stdout)).toEqual([]);
    expect(shapes.requests[0]).toBeLessThanOrEqual(3); // the first window and the tail of the pickle, not one per storage
    const full = await sameAsLocal(['many_a_legacy.pt', 'many_a.pt'], ['-o', 'json']);
    expect(JSON.parse(full.stdout)).toEqual([]);
    expect(full.requests[0]).toBeLessThanOrEqual(6);
    // The small legacy fixtures of the PyTorch reader (views, special values, a checkpoint) read the same remotely.
    const dir = join(ROOT, 'fixtures', 'pytorch');
    for (const f of ['views_legacy.pt', 'special_legacy.pt', 'checkpoint_legacy.pt']) {
      served.set(f, readFileSync(join(dir, f)));
      writeFileSync(local(f), served.get(f)!);
    }
    await sameAsLocal(['views_legacy.pt', 'special_legacy.pt'], ['-o', 'json']);
    const inspected = await sameAsLocal(['checkpoint_legacy.pt'], ['-o', 'json'], ['inspect']);
    expect(JSON.parse(inspected.stdout).tensors.length).toBeGreaterThan(0);
    // A stored count that contradicts the pickle (the first weight's 16,384 made 16,385): refused when its bytes are needed.
    const tampered = Uint8Array.from(served.get('many_a_legacy.pt')!);
    const at = Buffer.from(tampered.buffer).indexOf(Buffer.from([0x00, 0x40, 0, 0, 0, 0, 0, 0]));
    expect(at).toBeGreaterThan(0);
    tampered[at] = 1;
    served.set('tampered_legacy.pt', tampered);
    const r = await cli([url('tampered_legacy.pt'), url('many_a.pt'), '-o', 'json']);
    expect([r.status, r.stdout]).toEqual([2, '']);
    expect(r.stderr).toMatch(
      /^diffai: \S+tampered_legacy\.pt: legacy storage \d+: the element count stored at byte \d+ is not the 16384 its pickle declares; download the file/,
    );
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('a local header that contradicts the central directory is refused before its data is read', async () => {
    // Names, shapes and dtypes need no data: --shape-only still answers.
    const shapes = await cli([url('tampered.pt'), url('many_a.pt'), '--shape-only', '-o', 'json']);
    expect(shapes.status).toBe(0);
    const r = await cli([url('tampered.pt'), url('many_a.pt'), '-o', 'json']);
    expect(r.stdout).toBe('');
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(
      /^diffai: http:\/\/127\.0\.0\.1:\d+\/r\/tampered\.pt: zip: the local header of "archive\/data\/5" at byte \d+ does not put its data where the central directory implies/,
    );
  });
});
