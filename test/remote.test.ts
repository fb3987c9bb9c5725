/**
 * Remote files over HTTP Range requests, against a local server on 127.0.0.1: remote diffs
 * equal local ones byte for byte, request counts stay bounded (--shape-only in ≤ 2 per
 * safetensors file), and every misbehaving server is one error line with exit code 2.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHubPath, remoteSibling, resolveRemote } from '../src/io/remote-path.js';
import { cli, requireBuild } from './helpers/cli.js';
import { ROOT, safetensorsBytes, tempDir } from './helpers/files.js';
import { RangeServer } from './helpers/range_server.js';

const tmp = tempDir('diffai-remote-');
const generated = new Map<string, Uint8Array>();

/** Deterministic pseudo-random f32 values (xorshift), as bytes. */
function f32Bytes(n: number, seed: number, scale = 1): Uint8Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = ((s / 2 ** 32) * 2 - 1) * scale;
  }
  return new Uint8Array(out.buffer);
}

/** Generated files live in memory for the server and on disk for the local comparison. */
function generate(name: string, bytes: Uint8Array): string {
  generated.set(name, bytes);
  const local = tmp.path(name);
  writeFileSync(local, bytes);
  return local;
}

const servedFile = (path: string): Uint8Array | undefined => {
  if (path.startsWith('gen/')) return generated.get(path.slice(4));
  if (!path.startsWith('fixtures/') || path.includes('..')) return undefined;
  try {
    return readFileSync(join(ROOT, path));
  } catch {
    return undefined;
  }
};

let server: RangeServer;
let cdn: RangeServer;
let bigA = '';
let bigB = '';
let wideA = '';
let wideB = '';
const BIG_TENSORS = 4;

/** Hub repositories: repo@revision → local directory of its files. */
const REPOS: Record<string, string> = {
  'org/model@main': join(ROOT, 'fixtures/sharded/a'),
  'org/model@v2': join(ROOT, 'fixtures/sharded/b'),
  'org/private@main': join(ROOT, 'fixtures/core'),
  'org/empty@main': join(ROOT, 'fixtures/matlab'),
};

beforeAll(async () => {
  requireBuild();
  // ~16 MiB per file in four tensors: the engine reads ~1 MiB chunks, so one request per chunk would be dozens.
  const big = (seed: number) =>
    Array.from({ length: BIG_TENSORS }, (_, i) => ({ name: `layer${i}.weight`, dtype: 'F32', shape: [1024, 1024], bytes: f32Bytes(1 << 20, seed + i, 1 + i) }));
  bigA = generate('big_a.safetensors', safetensorsBytes(big(1)));
  bigB = generate('big_b.safetensors', safetensorsBytes(big(101)));
  // A header over the first 256 KiB window: 6,000 small tensors.
  const wide = (seed: number, n: number) =>
    Array.from({ length: n }, (_, i) => ({ name: `block.${i}.scale`, dtype: 'F32', shape: [2], bytes: f32Bytes(2, seed + i) }));
  wideA = generate('wide_a.safetensors', safetensorsBytes(wide(7, 6000)));
  wideB = generate('wide_b.safetensors', safetensorsBytes(wide(9, 6001)));
  server = await new RangeServer(servedFile).start();
  cdn = await new RangeServer(servedFile).start();
  // The hub: /hub/{org}/{repo}/resolve/{revision}/{file} redirects to the CDN (another origin).
  server.handlers.set('hub', (req: IncomingMessage, res: ServerResponse, rest: string) => {
    const m = /^([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(rest);
    const dir = m ? REPOS[`${m[1]}@${m[2]}`] : undefined;
    const file = dir ? servedFile(join(dir, m![3]!).slice(ROOT.length + 1)) : undefined;
    // As the hub answers: an unknown repository is 401 RepoNotFound, a missing file 404 EntryNotFound.
    const [status, code] = !dir
      ? [401, 'RepoNotFound']
      : m![1] === 'org/private' && req.headers.authorization !== 'Bearer secret'
        ? [401, undefined]
        : !file
          ? [404, 'EntryNotFound']
          : [302, undefined];
    const location = status === 302 ? { location: `${cdn.base}/r/${join(dir!, m![3]!).slice(ROOT.length + 1)}` } : {};
    res.writeHead(status, { 'content-length': 0, ...location, ...(code ? { 'x-error-code': code } : {}) });
    res.end();
    return status;
  });
});

afterAll(async () => {
  await server?.stop();
  await cdn?.stop();
  tmp.cleanup();
});

const url = (mode: string, path: string) => `${server.base}/${mode}/${path}`;

async function expectSameOutput(local: string[], remote: string[], env: Record<string, string> = {}): Promise<string> {
  const [l, r] = await Promise.all([cli(local, env), cli(remote, env)]);
  // Warnings name the file: the same once paths are reduced to their common part.
  const common = (text: string) => text.replace(/http:\/\/127\.0\.0\.1:\d+\/\w+\/(gen\/)?/g, '').replaceAll(`${tmp.dir}/`, '');
  expect(common(r.stderr)).toBe(common(l.stderr));
  expect(r.stderr).not.toMatch(/error|failed/i);
  expect(r.status).toBe(l.status);
  expect(r.stdout).toBe(l.stdout);
  expect(r.stdout.length).toBeGreaterThan(10);
  return r.stdout;
}

/** One line on stderr, nothing on stdout, exit 2; the line names the path and matches `pattern`. */
async function expectRefused(args: string[], path: string, pattern: RegExp, env: Record<string, string> = {}): Promise<string> {
  const r = await cli(args, env);
  expect(r.stdout).toBe('');
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toContain(`diffai: ${path}: `);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.status).toBe(2);
  return r.stderr;
}

describe('remote paths', () => {
  it('parses hf:// paths into hub URLs (revision, refs, datasets) and refuses escapes', () => {
    const env = process.env.HF_ENDPOINT;
    delete process.env.HF_ENDPOINT;
    try {
      expect(parseHubPath('hf://org/repo/sub/model.safetensors')).toEqual({
        kind: 'models',
        repo: 'org/repo',
        revision: 'main',
        file: 'sub/model.safetensors',
      });
      expect(parseHubPath('hf://org/repo@refs/pr/7/m.bin')).toEqual({ kind: 'models', repo: 'org/repo', revision: 'refs/pr/7', file: 'm.bin' });
      expect(parseHubPath('hf://org/repo')).toEqual({ kind: 'models', repo: 'org/repo', revision: 'main', file: '' });
      expect(resolveRemote('hf://org/repo@v1.0/a b.safetensors').url).toBe('https://huggingface.co/org/repo/resolve/v1.0/a%20b.safetensors');
      expect(resolveRemote('hf://org/repo@refs/pr/7/m.bin').url).toBe('https://huggingface.co/org/repo/resolve/refs%2Fpr%2F7/m.bin');
      expect(resolveRemote('hf://datasets/org/data/x.npy').url).toBe('https://huggingface.co/datasets/org/data/resolve/main/x.npy');
      expect(() => parseHubPath('hf://org/repo/../other/x')).toThrow(/not a Hugging Face path/);
      expect(() => parseHubPath('hf://justone')).toThrow(/not a Hugging Face path/);
      expect(remoteSibling('hf://org/repo@v2/dir/model.safetensors.index.json', 'model-1.safetensors')).toBe('hf://org/repo@v2/dir/model-1.safetensors');
      expect(remoteSibling('https://h.example/a/index.json', 'model 1.safetensors')).toBe('https://h.example/a/model%201.safetensors');
    } finally {
      if (env !== undefined) process.env.HF_ENDPOINT = env;
    }
  });

  it('sends the token only to the hub origin, and accepts plain http only on loopback', () => {
    const saved = { token: process.env.HF_TOKEN, endpoint: process.env.HF_ENDPOINT };
    process.env.HF_TOKEN = 'tok';
    process.env.HF_ENDPOINT = 'https://hub.example/';
    try {
      const t = resolveRemote('hf://org/repo/m.safetensors');
      expect(t.auth).toEqual({ authorization: 'Bearer tok' });
      expect(t.authOrigin).toBe('https://hub.example');
      expect(resolveRemote('https://other.example/m.safetensors').auth).toBeUndefined();
      expect(() => resolveRemote('http://example.com/m.safetensors')).toThrow(/only on a loopback address/);
      expect(() => resolveRemote('https://user:pw@example.com/m')).toThrow(/credentials in the URL/);
      expect(resolveRemote('http://127.0.0.1:9/m').url).toBe('http://127.0.0.1:9/m');
    } finally {
      for (const [k, v] of [
        ['HF_TOKEN', saved.token],
        ['HF_ENDPOINT', saved.endpoint],
      ] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});

// Each test runs several CLI processes at once; a loaded 2-core machine needs the time.
describe('remote diffs equal local diffs', { timeout: 180_000 }, () => {
  it('safetensors, PyTorch zip, compressed npz, GGUF, HDF5 and ONNX with external data, byte for byte', async () => {
    const pairs = [
      ['fixtures/core/digits_mlp.safetensors', 'fixtures/core/digits_mlp_finetuned.safetensors'],
      ['fixtures/analysis_real/resnet18.pt', 'fixtures/analysis_real/resnet18_recalibrated.pt'],
      ['fixtures/numpy/model_compressed.npz', 'fixtures/core/digits_mlp.safetensors'],
      ['fixtures/gguf/llama-f16.gguf', 'fixtures/gguf/llama-q4_k_m.gguf'],
      ['fixtures/hdf5/keras_model.h5', 'fixtures/hdf5/keras_model_finetuned.h5'],
      ['fixtures/onnx/external/model.onnx', 'fixtures/onnx/digits_mlp_finetuned.onnx'], // external data beside the model, on the server too
    ];
    await Promise.all(pairs.map(([a, b]) => expectSameOutput([a!, b!, '-o', 'json'], [url('r', a!), url('r', b!), '-o', 'json'])));
  });

  it('--shape-only reads a safetensors header in one request, or two when it passes the first window', async () => {
    const small = ['fixtures/core/digits_mlp_f16.safetensors', 'fixtures/core/digits_mlp_reshaped.safetensors'];
    const before = server.requests.length;
    await expectSameOutput([...small, '--shape-only'], [...small.map((p) => url('r', p)), '--shape-only']);
    for (const p of small) expect(server.count(`/r/${p}`)).toBe(1);
    const out = await expectSameOutput(
      [wideA, wideB, '--shape-only', '-o', 'json'],
      [url('r', 'gen/wide_a.safetensors'), url('r', 'gen/wide_b.safetensors'), '--shape-only', '-o', 'json'],
    );
    expect(JSON.parse(out).map((d: object) => Object.keys(d)[0])).toEqual(['TensorAdded']); // the one extra tensor of B
    expect(server.count('/r/gen/wide_a.safetensors')).toBe(2);
    expect(server.count('/r/gen/wide_b.safetensors')).toBe(2);
    expect(server.requests.length - before).toBe(6);
  });

  it('a full diff streams tensor data in a bounded number of requests (one thread, and several)', async () => {
    const remote = [url('r', 'gen/big_a.safetensors'), url('r', 'gen/big_b.safetensors')];
    const out = await expectSameOutput([bigA, bigB, '-o', 'json', '--threads', '1'], [...remote, '-o', 'json', '--threads', '1']);
    expect(JSON.parse(out)).toHaveLength(BIG_TENSORS);
    // The header window, then one streamed range for the ~16 MiB of data (not one per 1 MiB chunk).
    expect(server.count('/r/gen/big_a.safetensors')).toBe(2);
    expect(server.count('/r/gen/big_b.safetensors')).toBe(2);
    const before = server.count('/r/gen/big_a.safetensors');
    await expectSameOutput([bigA, bigB, '-o', 'json', '--threads', '2'], [...remote, '-o', 'json', '--threads', '2']);
    // Each thread streams its own tensors: at most the header window and one range per tensor.
    expect(server.count('/r/gen/big_a.safetensors') - before).toBeLessThanOrEqual(1 + BIG_TENSORS);
  });

  it('sharded checkpoints through hf:// repository roots, revisions and index paths, with the token kept from the CDN', async () => {
    const env = { HF_ENDPOINT: `${server.base}/hub`, HF_TOKEN: 'secret' };
    const local = ['fixtures/sharded/a', 'fixtures/sharded/b', '-o', 'json'];
    const out = await expectSameOutput(local, ['hf://org/model', 'hf://org/model@v2', '-o', 'json'], env);
    expect(JSON.parse(out).length).toBeGreaterThan(0);
    await expectSameOutput(local, ['hf://org/model/model.safetensors.index.json', 'hf://org/model@v2', '-o', 'json'], env);
    const hub = server.requests.filter((r) => r.path.startsWith('/hub/'));
    expect(hub.length).toBeGreaterThan(0);
    expect(hub.every((r) => r.authorization === 'Bearer secret')).toBe(true);
    expect(cdn.requests.length).toBeGreaterThan(0);
    expect(cdn.requests.every((r) => r.authorization === undefined)).toBe(true);
    // A private repository: works with the token, refused with one line naming HF_TOKEN without it.
    const single = ['fixtures/core/digits_mlp.safetensors', 'fixtures/core/digits_mlp_scaled.safetensors'];
    await expectSameOutput(single, ['hf://org/private/digits_mlp.safetensors', 'hf://org/private/digits_mlp_scaled.safetensors'], env);
    await expectRefused(['hf://org/private/digits_mlp.safetensors', single[1]!], 'hf://org/private/digits_mlp.safetensors', /HTTP 401.*set HF_TOKEN/, {
      HF_ENDPOINT: env.HF_ENDPOINT,
      HF_TOKEN: '',
    });
    await expectRefused(['hf://org/empty', single[1]!], 'hf://org/empty', /none of model\.safetensors\.index\.json, model\.safetensors/, env);
    await expectRefused(
      ['hf://org/nothing', single[1]!],
      'hf://org/nothing/model.safetensors.index.json',
      /HTTP 401 Unauthorized\): the repository does not exist/,
      env,
    );
    await expectRefused(
      ['hf://org/model/gone.safetensors', single[1]!],
      'hf://org/model/gone.safetensors',
      /HTTP 404 Not Found\): the repository has no such file/,
      env,
    );
  });
});

describe('misbehaving servers', { timeout: 120_000 }, () => {
  const small = 'fixtures/core/digits_mlp.safetensors';
  const local = join(ROOT, small);
  const otherPath = 'fixtures/core/digits_mlp_finetuned.safetensors';
  const other = join(ROOT, otherPath);

  it('retries 500s and connection resets, then answers as the local file', async () => {
    await expectSameOutput([local, other, '-o', 'json'], [url('flaky', small), url('reset', otherPath), '-o', 'json']);
    expect(server.requests.filter((r) => r.path === `/flaky/${small}`).map((r) => r.status)).toEqual([500, 206]);
    expect(server.requests.filter((r) => r.path === `/reset/${otherPath}`).map((r) => r.status)).toEqual([0, 206]);
  });

  it('gives up on a server that keeps failing, after a bounded number of attempts', async () => {
    await expectRefused([url('fail500', small), local], url('fail500', small), /HTTP 500 Internal Server Error \(after 5 attempts\)/);
    expect(server.count(`/fail500/${small}`)).toBe(5);
  });

  it('401, 403 and 404 are one line each', async () => {
    await expectRefused([url('e401', small), local], url('e401', small), /access denied \(HTTP 401 Unauthorized\)/);
    await expectRefused([url('e403', small), local], url('e403', small), /access denied \(HTTP 403 Forbidden\)/);
    await expectRefused([url('e404', small), local], url('e404', small), /not found \(HTTP 404 Not Found\)/);
  });

  it('a server without Range support: small files are read whole, large ones refused without downloading', async () => {
    await expectSameOutput([local, other, '-o', 'json'], [url('norange', small), url('r', otherPath), '-o', 'json']);
    await expectRefused(
      [url('norange', 'gen/big_a.safetensors'), bigA],
      url('norange', 'gen/big_a.safetensors'),
      /does not support Range requests \(it answered HTTP 200 with 16\d+ bytes\)/,
    );
    await expectRefused(
      [url('huge200', small), local],
      url('huge200', small),
      /does not support Range requests \(it answered HTTP 200 with 1000000000000 bytes\)/,
    );
  });

  it('Content-Range and Content-Length that disagree with the request, and bodies cut short, are refused', async () => {
    await expectRefused([url('badrange', small), local], url('badrange', small), /Content-Range mismatch: asked for bytes 0-262143, the server sent 1-\d+/);
    await expectRefused([url('badlength', small), local], url('badlength', small), /Content-Length 1000000000000 does not match the Content-Range/);
    await expectRefused([url('truncate', small), local], url('truncate', small), /truncated response: the (body ended|connection closed) at byte \d+/);
  });

  it('a server that drips bytes times out', async () => {
    const started = Date.now();
    await expectRefused([url('drip', small), local], url('drip', small), /timed out: data arrived too slowly/, { DIFFAI_REMOTE_TIMEOUT: '1' });
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});
