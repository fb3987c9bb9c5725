/**
 * `diffai --check FILE…` / `diffai check`: full validation (every tensor read by the
 * engine), the pickle-safety verdict naming globals, `--format` forcing a reader, `--stream`.
 * Expected counts come from the generators' references, not from diffai.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { spawnSync } from 'node:child_process';
import { BIN, cli, expectTrouble, requireBuild } from './helpers/cli.js';
import { REFERENCE, ROOT, core, tempDir } from './helpers/files.js';
import { SIZE, type TestDType } from './helpers/dtypes.js';

vi.setConfig({ testTimeout: 60_000 });
beforeAll(requireBuild);
const tmp = tempDir('diffai-check-');
afterAll(() => tmp.cleanup());

const pt = (name: string) => join(ROOT, 'fixtures', 'pytorch', name);
const BASE = 'digits_mlp.safetensors';
const refBase = REFERENCE.files[BASE]!.tensors;

/** Tensor bytes of a reference file: Σ numel × item size, from the generator's shapes and dtypes. */
function referenceBytes(tensors: Record<string, { shape: number[]; dtype: string; total_params: number }>): number {
  return Object.values(tensors).reduce((s, t) => s + t.total_params * SIZE[t.dtype as TestDType], 0);
}

describe('diffai --check', () => {
  it('passes a valid safetensors file, reading every tensor byte, exit 0', async () => {
    const r = await cli(['--check', core(BASE)]);
    expect(r.status, r.stderr).toBe(0);
    const n = Object.keys(refBase).length;
    expect(r.stdout).toBe(`${core(BASE)}: OK (safetensors, ${n} tensors, ${referenceBytes(refBase)} bytes read)\n`);
    expect(r.stderr).toBe('');
  });

  it('`diffai check` is the same command; JSON has one object per file', async () => {
    const r = await cli(['check', core(BASE), pt('state_dict_zip.pt'), '-o', 'json']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    expect(out.map((o) => [o.file, o.format, o.valid, o.safe, o.unsafe_globals, o.problem])).toEqual([
      [core(BASE), 'safetensors', true, true, [], null],
      [pt('state_dict_zip.pt'), 'pytorch', true, true, [], null],
    ]);
    expect(out[0]!.bytes_checked).toBe(referenceBytes(refBase));
  });

  it('names the global a pickle would run under torch.load(weights_only=False), exit 2', async () => {
    const r = await cli(['--check', pt('evil_os_system.pt'), pt('evil_builtins_eval.pt'), '-o', 'json']);
    expect(r.status).toBe(2);
    const out = JSON.parse(r.stdout) as Array<{ safe: boolean | null; valid: boolean; unsafe_globals: string[]; problem: string }>;
    expect(out[0]).toMatchObject({ safe: false, valid: false, unsafe_globals: ['os.system'] });
    expect(out[1]).toMatchObject({ safe: false, valid: false, unsafe_globals: ['builtins.eval'] });
    expect(r.stderr).toBe('diffai: 2 of 2 files failed the check\n');
    const text = await cli(['--check', pt('evil_os_system.pt')]);
    expect(text.status).toBe(2);
    expect(text.stdout).toMatch(/^.*evil_os_system\.pt: UNSAFE: torch\.load\(weights_only=False\) would run os\.system: .*refusing to load/);
    expect(text.stdout.split('\n')).toHaveLength(2);
  });

  it('a pickled nn.Module is valid but not safe: the classes torch.load would import are named', async () => {
    const r = await cli(['--check', pt('module_pickled.pt'), '-o', 'json']);
    expect(r.status).toBe(2);
    const [out] = JSON.parse(r.stdout) as Array<{ safe: boolean; valid: boolean; unsafe_globals: string[]; tensors: number }>;
    expect(out!.valid).toBe(true);
    expect(out!.safe).toBe(false);
    expect(out!.unsafe_globals).toEqual(expect.arrayContaining(['torch.nn.modules.linear.Linear', 'torch.nn.modules.container.Sequential']));
    expect(out!.tensors).toBeGreaterThan(0);
  });

  it('finds a corrupt tensor that a header-only read accepts (every tensor is read)', async () => {
    // numpy's deflated model.npz with 4 bytes of big.npy's compressed stream overwritten, far
    // past its .npy header: the headers still parse, the data stream ends early.
    const bytes = readFileSync(join(ROOT, 'fixtures', 'numpy', 'model_compressed.npz'));
    const at = bytes.indexOf('big.npy') - 30; // its local file header
    expect(bytes.readUInt32LE(at)).toBe(0x04034b50);
    const data = at + 30 + bytes.readUInt16LE(at + 26) + bytes.readUInt16LE(at + 28);
    bytes.fill(0xff, data + 15000, data + 15004);
    const bad = tmp.path('corrupt_tail.npz');
    writeFileSync(bad, bytes);
    const headers = await cli([bad, bad, '--shape-only']);
    expect(headers.status, headers.stderr).toBe(0);
    const r = await cli(['--check', bad]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe(`${bad}: INVALID: compressed data ends before the tensor does\n`);
  });

  it('reports a truncated file as invalid and still checks the others', async () => {
    const r = await cli(['--check', pt('truncated_zip.pt'), core(BASE)]);
    expect(r.status).toBe(2);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/truncated_zip\.pt: INVALID: /);
    expect(lines[1]).toMatch(/digits_mlp\.safetensors: OK /);
  });

  it('--stream is accepted (reading always streams)', async () => {
    const r = await cli(['--stream', '--check', core(BASE)]);
    expect(r.status, r.stderr).toBe(0);
    const help = await cli(['--help']);
    expect(help.stdout).toMatch(/--stream[\s\S]*always\s+streamed/);
    expect(help.stdout).toMatch(/--check/);
    expect(help.stdout).toMatch(/--format/);
  });
});

describe('--format', () => {
  it('forces a reader: the matching format works for diff, inspect and check', async () => {
    const diff = await cli(['--format', 'safetensors', core(BASE), core(BASE)]);
    expect(diff.status, diff.stderr).toBe(0);
    expect(diff.stdout).toBe('No differences found.\n');
    const ins = await cli(['inspect', '--format', 'pytorch', pt('state_dict_zip.pt')]);
    expect(ins.status, ins.stderr).toBe(0);
    const npz = await cli(['--check', '--format', 'numpy', join(ROOT, 'fixtures', 'numpy', 'model_stored.npz')]);
    expect(npz.status, npz.stderr).toBe(0);
  });

  it('a contradiction between the bytes and the forced format is one clear line, exit 2', async () => {
    expectTrouble(
      await cli(['--format', 'pytorch', core(BASE), core(BASE)]),
      `${core(BASE)}: --format pytorch`,
      /the bytes are not a pytorch file; they are a safetensors file/,
    );
    const r = await cli(['--check', '--format', 'matlab', core(BASE)]);
    expect(r.status).toBe(2);
    expect(r.stdout).toMatch(/INVALID: --format matlab: the bytes are not a matlab file; they are a safetensors file/);
  });

  it('an unknown format name is a usage error', async () => {
    const r = await cli(['--format', 'onnx', core(BASE), core(BASE)]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/format/);
  });
});

it('the reference byte count agrees with the file: its data section after the header', () => {
  const bytes = readFileSync(core(BASE));
  expect(bytes.length - 8 - Number(bytes.readBigUInt64LE(0))).toBe(referenceBytes(refBase));
});

it('the verdict on standard input names `-` and keeps the globals', () => {
  const r = spawnSync(process.execPath, [BIN, '--check', '-', '-o', 'json'], {
    input: readFileSync(pt('evil_os_system.pt')),
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(r.status).toBe(2);
  expect(JSON.parse(r.stdout)).toMatchObject([{ file: '-', safe: false, unsafe_globals: ['os.system'] }]);
});
