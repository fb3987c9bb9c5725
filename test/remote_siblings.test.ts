/**
 * Files beside a remote model, read as the local path reads them: a Hugging Face config.json
 * (head counts for --attention-analysis) and tokenizer.json (token strings for
 * --embedding-analysis), at the same URL directory or hub revision, in one request each; a
 * 404 is absence (as a missing local file), an oversized config is skipped with the local
 * warning, and nothing else about the diff changes.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, requireBuild } from './helpers/cli.js';
import { ROOT, tempDir } from './helpers/files.js';
import { RangeServer } from './helpers/range_server.js';

const tmp = tempDir('diffai-remote-siblings-');
let server: RangeServer;
/** Another origin the hub redirects config.json to (as the hub sends files to its CDN). */
let cdn: RangeServer;

/** Local model directories (the server serves this tree under /r/). */
function directory(name: string, files: Record<string, string | Uint8Array>): void {
  mkdirSync(tmp.path(name), { recursive: true });
  for (const [file, content] of Object.entries(files)) writeFileSync(join(tmp.path(name), file), content);
}

beforeAll(async () => {
  requireBuild();
  const attention = join(ROOT, 'fixtures', 'attention');
  for (const side of ['a', 'b']) {
    const model = readFileSync(join(attention, `gpt2_${side}`, 'model.safetensors'));
    directory(`with_config_${side}`, { 'model.safetensors': model, 'config.json': readFileSync(join(attention, `gpt2_${side}`, 'config.json')) });
    directory(`no_config_${side}`, { 'model.safetensors': model });
    // A config over the 4 MiB limit: valid JSON padded with spaces.
    directory(`huge_config_${side}`, { 'model.safetensors': model, 'config.json': `{"n_head": 4${' '.repeat(5 << 20)}}` });
  }
  const embedding = join(ROOT, 'fixtures', 'embedding');
  mkdirSync(tmp.path('embedding'));
  for (const f of ['gpt_base.pt', 'gpt_rotated.pt', 'tokenizer.json']) copyFileSync(join(embedding, f), join(tmp.path('embedding'), f));
  server = await new RangeServer((path) => {
    if (path.includes('..')) return undefined;
    try {
      return readFileSync(join(tmp.dir, path));
    } catch {
      return undefined;
    }
  }).start();
  cdn = await new RangeServer((path) => (path.endsWith('config.json') && !path.includes('..') ? readFileSync(join(tmp.dir, path)) : undefined)).start();
  // A hub: /hub/org/gpt2/resolve/{revision}/{file} serves with_config_a at `main`, with_config_b at `v2`,
  // config.json through a redirect to the CDN.
  server.handlers.set('hub', (_req: IncomingMessage, res: ServerResponse, rest: string) => {
    const m = /^org\/gpt2\/resolve\/(main|v2)\/([^/]+)$/.exec(rest);
    if (m?.[2] === 'config.json') {
      res.writeHead(302, { 'content-length': 0, location: `${cdn.base}/r/${m[1] === 'main' ? 'with_config_a' : 'with_config_b'}/config.json` });
      res.end();
      return 302;
    }
    let body: Buffer | undefined;
    try {
      body = m ? readFileSync(join(tmp.path(m[1] === 'main' ? 'with_config_a' : 'with_config_b'), m[2]!)) : undefined;
    } catch {
      body = undefined;
    }
    if (!body) {
      res.writeHead(404, { 'content-length': 0, 'x-error-code': 'EntryNotFound' });
      res.end();
      return 404;
    }
    const range = /^bytes=(\d+)-(\d+)$/.exec(_req.headers.range ?? '');
    const first = Number(range?.[1] ?? 0);
    const last = Math.min(Number(range?.[2] ?? body.length - 1), body.length - 1);
    res.writeHead(206, { 'content-range': `bytes ${first}-${last}/${body.length}`, 'content-length': last - first + 1 });
    res.end(body.subarray(first, last + 1));
    return 206;
  });
});

afterAll(async () => {
  await server?.stop();
  await cdn?.stop();
  tmp.cleanup();
});

const url = (path: string) => `${server.base}/r/${path}`;

/** The same command on local paths and on their URLs: the same output once paths are set aside. */
async function sameAsLocal(paths: string[], args: string[], env: Record<string, string> = {}): Promise<{ stdout: string; stderr: string }> {
  const [l, r] = await Promise.all([cli([...paths.map((p) => tmp.path(p)), ...args], env), cli([...paths.map(url), ...args], env)]);
  const common = (text: string) => text.replaceAll(`${server.base}/r/`, '').replaceAll(`${tmp.dir}/`, '');
  expect(common(r.stderr)).toBe(common(l.stderr));
  expect(r.status).toBe(l.status);
  expect(common(r.stdout)).toBe(common(l.stdout));
  return r;
}

describe('files beside a remote model', { timeout: 180_000 }, () => {
  it('config.json beside the model gives the head count, in one request per side', async () => {
    const before = server.count('/r/', true);
    const r = await sameAsLocal(['with_config_a/model.safetensors', 'with_config_b/model.safetensors'], ['--attention-analysis']);
    expect(r.stdout).toContain('heads from config.json (n_head)');
    expect(r.stdout).toMatch(/attention_analysis: layers=2, heads=8/);
    expect(server.count('/r/with_config_a/config.json')).toBe(1);
    expect(server.count('/r/with_config_b/config.json')).toBe(1);
    expect(server.count('/r/', true) - before).toBe(4); // each side: its model (one window) and its config
  });

  it('without config.json (404): not applicable, as for a local model without one', async () => {
    const r = await sameAsLocal(['no_config_a/model.safetensors', 'no_config_b/model.safetensors'], ['--attention-analysis']);
    expect(r.stdout).toContain('attention_analysis: not applicable (head count unknown: pass --num-heads)');
    expect(r.stderr).toBe('');
    expect(server.count('/r/no_config_a/config.json')).toBe(1);
    // The option still works without a config.
    const given = await sameAsLocal(['no_config_a/model.safetensors', 'no_config_b/model.safetensors'], ['--attention-analysis', '--num-heads', '4']);
    expect(given.stdout).toMatch(/attention_analysis: layers=2, heads=8/);
  });

  it('an oversized config.json is refused by name, without downloading it', async () => {
    const r = await sameAsLocal(['huge_config_a/model.safetensors', 'huge_config_b/model.safetensors'], ['--attention-analysis']);
    expect(r.stdout).toMatch(
      /attention_analysis: not applicable \(head count unknown: pass --num-heads \(\S+huge_config_a\/config\.json: 52428\d\d bytes, larger than the 4194304-byte limit for config\.json; not read\)\)/,
    );
    // The first window (256 KiB) told the size; the rest was never asked for.
    const asked = server.requests.filter((q) => q.path === '/r/huge_config_a/config.json');
    expect(asked.map((q) => q.range)).toEqual(['bytes=0-262143']);
  });

  it('hf:// paths: config.json from the same repository revision, HF_TOKEN sent to the hub only (not to the CDN it redirects to)', async () => {
    const env = { HF_ENDPOINT: `${server.base}/hub`, HF_TOKEN: 'secret' };
    const r = await cli(['hf://org/gpt2/model.safetensors', 'hf://org/gpt2@v2/model.safetensors', '--attention-analysis'], env);
    const local = await cli([tmp.path('with_config_a/model.safetensors'), tmp.path('with_config_b/model.safetensors'), '--attention-analysis']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(local.stdout);
    expect(server.count('/hub/org/gpt2/resolve/main/config.json')).toBe(1);
    expect(server.count('/hub/org/gpt2/resolve/v2/config.json')).toBe(1);
    const hub = server.requests.filter((q) => q.path.startsWith('/hub/'));
    expect(hub.length).toBeGreaterThanOrEqual(4);
    expect(hub.every((q) => q.authorization === 'Bearer secret')).toBe(true);
    expect(cdn.requests.map((q) => q.path).sort()).toEqual(['/r/with_config_a/config.json', '/r/with_config_b/config.json']);
    expect(cdn.requests.every((q) => q.authorization === undefined)).toBe(true);
    // A plain URL never carries the token, whatever HF_TOKEN says.
    await cli([url('with_config_a/model.safetensors'), url('with_config_b/model.safetensors'), '--attention-analysis'], env);
    const plain = server.requests.filter((q) => q.path.startsWith('/r/with_config_'));
    expect(plain.length).toBeGreaterThan(0);
    expect(plain.every((q) => q.authorization === undefined)).toBe(true);
  });

  it('tokenizer.json beside a remote checkpoint names the drifted rows as locally', async () => {
    const r = await sameAsLocal(['embedding/gpt_base.pt', 'embedding/gpt_rotated.pt'], ['--embedding-analysis']);
    expect(r.stdout).toContain('166 "tok166"');
    expect(r.stdout).toContain('"Ġto"');
  });
});
