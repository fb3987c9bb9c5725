/**
 * Inputs that cannot be read by position: `-` (a model on standard input) and compressed
 * files. gzip goes through a bounded temporary spool that is always removed (normal end,
 * error, signal); xz, zstd and bzip2 are named with the command that decompresses them.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BIN, cli, requireBuild, type CliResult } from './helpers/cli.js';
import { ROOT, core, tempDir } from './helpers/files.js';

vi.setConfig({ testTimeout: 60_000 });
beforeAll(requireBuild);
const tmp = tempDir('diffai-spool-');
afterAll(() => tmp.cleanup());

const BASE = core('digits_mlp.safetensors');
const TUNED = core('digits_mlp_finetuned.safetensors');

/** A private TMPDIR per test, so that the spool directories diffai leaves (none) can be counted. */
function privateTmp(name: string): string {
  const dir = tmp.path(name);
  mkdirSync(dir);
  return dir;
}

function run(args: string[], input: Uint8Array | undefined, env: Record<string, string> = {}): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, input, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('standard input (-)', () => {
  it('git show HEAD:model | diffai - model: the same report as from the file, spool removed', async () => {
    const direct = await cli([BASE, TUNED, '-o', 'json']);
    const spoolDir = privateTmp('stdin');
    const piped = run(['-', TUNED, '-o', 'json'], readFileSync(BASE), { TMPDIR: spoolDir });
    expect(piped.stderr).toBe('');
    expect(piped.status).toBe(direct.status);
    expect(piped.stdout).toBe(direct.stdout);
    expect(JSON.parse(piped.stdout).length).toBeGreaterThan(0);
    expect(readdirSync(spoolDir)).toEqual([]);
  });

  it('either side may be standard input; messages name it `-`', () => {
    const r = run(['--check', '-'], readFileSync(BASE));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^-: OK \(safetensors, /);
    const bad = run([BASE, '-'], new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]));
    expect(bad.status).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/^diffai: -: /);
    expect(bad.stderr).not.toMatch(/diffai-|input-0/);
  });

  it('`-` twice is refused', () => {
    const r = run(['-', '-'], new Uint8Array(0));
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('diffai: standard input (-) can be given only once\n');
  });

  it('the spool is removed when diffai is killed while reading standard input', async () => {
    const spoolDir = privateTmp('signal');
    const child = spawn(process.execPath, [BIN, '-', TUNED], { cwd: ROOT, env: { ...process.env, TMPDIR: spoolDir }, stdio: ['pipe', 'pipe', 'pipe'] });
    const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('close', (code, signal) => resolve({ code, signal })),
    );
    child.stdin.write(readFileSync(BASE).subarray(0, 4096)); // part of a model; stdin stays open
    let seen = false;
    for (let i = 0; i < 200 && !seen; i++) {
      await new Promise((r) => setTimeout(r, 50));
      seen = readdirSync(spoolDir).some((d) => d.startsWith('diffai-') && readdirSync(join(spoolDir, d)).length > 0);
    }
    expect(seen, 'the spool file appears while stdin is read').toBe(true);
    child.kill('SIGTERM');
    const end = await closed;
    expect(end.signal).toBe('SIGTERM');
    expect(readdirSync(spoolDir)).toEqual([]);
  });
});

describe('compressed models', () => {
  it('a gzip file is decompressed through the spool: the same report as the plain file', async () => {
    const gz = tmp.path('base.safetensors.gz');
    writeFileSync(gz, gzipSync(readFileSync(BASE)));
    const spoolDir = privateTmp('gzip');
    const direct = await cli([BASE, TUNED, '-o', 'json']);
    const r = await cli([gz, TUNED, '-o', 'json'], { TMPDIR: spoolDir });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(direct.stdout);
    expect(readdirSync(spoolDir)).toEqual([]);
    const check = await cli(['--check', gz]);
    expect(check.stdout).toMatch(new RegExp(`^${gz.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: OK \\(safetensors, `));
  });

  it('gzip on standard input works too (git show … | gzip | diffai - …)', () => {
    const r = run(['-', BASE, '-o', 'json'], gzipSync(readFileSync(BASE)));
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([]);
  });

  it('the spool cap refuses a gzip bomb with one line naming the limit, and cleans up', async () => {
    const gz = tmp.path('bomb.safetensors.gz');
    // ~10 KB that inflates to 10 MB, starting as a model does (a stream of no model is refused at its first bytes, before the cap).
    writeFileSync(gz, gzipSync(Buffer.concat([readFileSync(BASE).subarray(0, 64), new Uint8Array(10_000_000)])));
    const spoolDir = privateTmp('bomb');
    const r = await cli([gz, BASE], { TMPDIR: spoolDir, DIFFAI_SPOOL_MAX_BYTES: '1000000' });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `diffai: ${gz}: decompresses larger than the 1000000-byte spool limit (set DIFFAI_SPOOL_MAX_BYTES to allow more, or decompress it to a file first)\n`,
    );
    expect(readdirSync(spoolDir)).toEqual([]);
  });

  it('corrupt gzip data is one clear line', async () => {
    const good = gzipSync(readFileSync(BASE));
    const bad = tmp.path('corrupt.safetensors.gz');
    writeFileSync(bad, Buffer.concat([good.subarray(0, 200), Buffer.alloc(64, 0xff)]));
    const r = await cli([bad, BASE]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')).toHaveLength(2);
    expect(r.stderr).toMatch(new RegExp(`^diffai: ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: gzip data is corrupt`));
  });

  // Magic bytes as the formats define them (xz: FD 37 7A 58 5A 00; zstd frame: 28 B5 2F FD;
  // bzip2: "BZh" + block size digit), followed by filler: detection is by the magic alone.
  const MAGIC: Array<[string, number[], string]> = [
    ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], 'unxz'],
    ['zstd', [0x28, 0xb5, 0x2f, 0xfd], 'unzstd'],
    ['bzip2', [0x42, 0x5a, 0x68, 0x39], 'bunzip2'],
  ];
  for (const [name, magic, tool] of MAGIC) {
    it(`${name} is named with the command that decompresses it, exit 2`, async () => {
      const file = tmp.path(`model.${name}`);
      writeFileSync(file, Buffer.concat([Buffer.from(magic), Buffer.alloc(100, 7)]));
      const r = await cli([file, BASE]);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(`diffai: ${file}: is ${name}-compressed, which diffai does not decompress; decompress it first: ${tool} -k '${file}'\n`);
      const piped = run(['-', BASE], Buffer.concat([Buffer.from(magic), Buffer.alloc(100, 7)]));
      expect(piped.stderr).toBe(
        `diffai: -: is ${name}-compressed, which diffai does not decompress; decompress it in the pipe (… | ${tool} -c | diffai - …)\n`,
      );
    });
  }
});

describe('named pipes', () => {
  const HAS_BASH = spawnSync('bash', ['-c', 'true']).status === 0;
  if (!HAS_BASH) console.log('test/stdin_spool.test.ts: named-pipe case skipped, `bash` is not installed');
  // A pipe by name may have no writer and would block: refused at once, pointing at stdin.
  it.skipIf(!HAS_BASH)("bash's <(…) pipes are refused at once with a pointer to standard input", () => {
    const q = (p: string) => `'${p}'`;
    const r = spawnSync('bash', ['-c', `${q(process.execPath)} ${q(BIN)} <(cat ${q(BASE)}) ${q(TUNED)} -o json`], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('give it on standard input');
  });
});
