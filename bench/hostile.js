#!/usr/bin/env node
// Hostile inputs, measured (issue 15): per class, the time, peak RSS, exit code and first
// stderr line of the CLI on inputs built here (and the torch-written views in
// fixtures/hostile/). `--bin PATH` measures another build (e.g. a baseline checkout's
// bin/diffai.js) for before/after figures. Every run is cut off after 15 s (exit 124), the
// item-5 rows (a 1M-tensor pair built once into bench/data/hostile) after 120 s.
// Needs GNU time (/usr/bin/time) for peak RSS; the item-11 inputs need Debian's python3-torch.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { makeZip, npyF32 } from './generate-zip.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const binArg = process.argv.indexOf('--bin');
const bin = binArg > 0 ? process.argv[binArg + 1] : join(root, 'bin', 'diffai.js');
const tmp = mkdtempSync(join(tmpdir(), 'diffai-bench-hostile-'));
const hostile = (/** @type {string} */ f) => join(root, 'fixtures', 'hostile', f);

/**
 * A safetensors file of small f32 tensors by name (names may hold anything).
 * @param {string} path
 * @param {Record<string, number[]>} tensors
 */
function safetensors(path, tensors) {
  /** @type {Record<string, unknown>} */
  const header = {};
  const parts = [];
  let offset = 0;
  for (const [name, values] of Object.entries(tensors)) {
    const b = Buffer.from(new Float32Array(values).buffer);
    header[name] = { dtype: 'F32', shape: [values.length], data_offsets: [offset, offset + b.length] };
    parts.push(b);
    offset += b.length;
  }
  const h = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  writeFileSync(path, Buffer.concat([len, h, ...parts]));
  return path;
}

/**
 * @param {string} name
 * @param {Record<string, string>} weightMap
 * @param {string} [extra]
 */
function shardDir(name, weightMap, extra = '') {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.safetensors.index.json'), `{${extra}"weight_map": ${JSON.stringify(weightMap)}}`);
  return dir;
}

/**
 * One measured run: `shell` is the rest of a bash command line after `node BIN`; cut off
 * after `limit` seconds (exit 124).
 * @param {string} label
 * @param {string} shell
 * @param {number} [limit]
 * @returns {{ seconds: number, rssMB: number, status: number | null }}
 */
function measure(label, shell, limit = 15) {
  const script = `TIMEFORMAT='%R'; /usr/bin/time -f '__rss %M' -o ${tmp}/rss timeout ${limit} node ${bin} ${shell}`;
  const start = performance.now();
  const r = spawnSync('bash', ['-c', script], { encoding: 'utf8', cwd: root, maxBuffer: 1 << 28 });
  const seconds = (performance.now() - start) / 1000;
  let rssMB = Number.NaN;
  try {
    rssMB = Math.round(Number(/__rss (\d+)/.exec(execFileSync('cat', [`${tmp}/rss`], { encoding: 'utf8' }))?.[1]) / 1024);
  } catch {}
  const lines = r.stderr.split('\n').filter((l) => l && !l.startsWith('Command exited') && !l.startsWith('Command terminated'));
  // biome-ignore lint/suspicious/noControlCharactersInRegex: shown escaped in the table
  const first = (lines[0] ?? '').replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  const rss = Number.isNaN(rssMB) ? '?' : `${rssMB} MB`;
  console.log(`| ${label} | ${seconds.toFixed(2)} s | ${rss} | ${r.status} | ${lines.length} | ${first.slice(0, 110)} |`);
  return { seconds, rssMB, status: r.status };
}

/**
 * The item-5 pair (issue 15): 1,000,000 tensors of six dtypes (F16, BF16, I8, F32, U8, I32),
 * 1–105 elements each, with `__metadata__`; seeds 1 and 2 give different bytes everywhere, so
 * every tensor changed. Built once into bench/data/hostile (134 MB each).
 * @param {string} path
 * @param {number} seed
 */
function mixedMillion(path, seed) {
  if (existsSync(path)) return path;
  const dtypes = /** @type {const} */ ([
    ['F16', 2],
    ['BF16', 2],
    ['I8', 1],
    ['F32', 4],
    ['U8', 1],
    ['I32', 4],
  ]);
  const parts = ['{"__metadata__":{"format":"pt"}'];
  let offset = 0;
  for (let i = 0; i < 1_000_000; i++) {
    const [dtype, size] = dtypes[i % dtypes.length];
    const shape = [1 + (i % 7), 1 + ((i * 13) % 5), 1 + (i % 3)];
    const bytes = shape[0] * shape[1] * shape[2] * size;
    parts.push(`,"l${i}.b${i % 97}":{"dtype":"${dtype}","shape":[${shape}],"data_offsets":[${offset},${offset + bytes}]}`);
    offset += bytes;
  }
  parts.push('}');
  let header = Buffer.from(parts.join(''));
  header = Buffer.concat([header, Buffer.alloc((8 - (header.length % 8)) % 8, 0x20)]);
  const fd = openSync(path, 'w');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(header.length));
  writeSync(fd, length);
  writeSync(fd, header);
  // Bytes 0..63 from a xorshift stream: small values of every dtype, finite floats.
  const chunk = Buffer.alloc(16 << 20);
  let x = (seed * 2654435761) >>> 0;
  for (let left = offset; left > 0; ) {
    const n = Math.min(left, chunk.length);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      chunk[i] = x & 0x3f;
    }
    writeSync(fd, chunk, 0, n);
    left -= n;
  }
  closeSync(fd);
  return path;
}

const evil = ['ansi\u001b[31mred', 'osc\u001b]0;pwned\u0007', 'cr\rover', 'new\nline'];
const escA = safetensors(join(tmp, 'esc_a.safetensors'), Object.fromEntries(evil.map((n, i) => [n, [i, 1]])));
const escB = safetensors(join(tmp, 'esc_b.safetensors'), Object.fromEntries(evil.map((n, i) => [n, [i, 2]])));
const many = (/** @type {number} */ shift) => Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`layer.${i}.weight`, [i, shift]]));
const manyA = safetensors(join(tmp, 'many_a.safetensors'), many(1));
const manyB = safetensors(join(tmp, 'many_b.safetensors'), many(2));
const circ = shardDir('circ', { w: 'b.safetensors.index.json' });
writeFileSync(join(circ, 'b.safetensors.index.json'), JSON.stringify({ weight_map: { w: 'model.safetensors.index.json' } }));
const deep = shardDir('deep', { w: 'a.safetensors' }, `"metadata": {"x": ${'['.repeat(100000)}${']'.repeat(100000)}}, `);
safetensors(join(deep, 'a.safetensors'), { w: [1] });
mkdirSync(join(tmp, 'outside'));
writeFileSync(join(tmp, 'outside', 'secret.txt'), 'SECRET-BYTES');
const esc = shardDir('escape', { w: 'a.safetensors' });
symlinkSync(join(tmp, 'outside', 'secret.txt'), join(esc, 'a.safetensors'));
const fifo = join(tmp, 'fifo.pt');
execFileSync('mkfifo', [fifo]);
symlinkSync(join(tmp, 'loop2'), join(tmp, 'loop1'));
symlinkSync(join(tmp, 'loop1'), join(tmp, 'loop2'));

console.log(`bin: ${bin}\n`);
console.log('| case | time | peak RSS | exit | stderr lines | first stderr line |\n|---|---|---|---|---|---|');
measure('3 inspect zeros(1).expand(10**10) (torch)', `inspect ${hostile('broadcast_zeros.pt')}`);
measure('3 inspect mixed broadcasts (torch)', `inspect ${hostile('broadcast_mixed.pt')}`);
measure('3 inspect 2^26 overlapping windows (torch)', `inspect ${hostile('overlap_windows.pt')}`);
measure('3 diff two 3e9-element broadcasts (torch)', `${hostile('broadcast_a.pt')} ${hostile('broadcast_b.pt')} >/dev/null`);
measure('6 diff names with ESC/OSC/CR/LF: stdout lines holding a raw ESC', `${escA} ${escB} | grep -c $'\\x1b' >&2`);
measure('6 error line for a path with LF+ESC', `inspect $'${tmp}/no\\nsuch\\x1b[31m.pt'`);
measure('8 circular shard index', `inspect ${circ}`);
measure('8 metadata nested 100,000 deep', `inspect ${deep}`);
measure('8 shard symlinked outside the directory', `inspect ${esc}`);
measure('9 FIFO as a model', `inspect ${fifo}`);
measure('9 symlink loop', `inspect ${join(tmp, 'loop1')}`);
measure('10 diff -o json | head -c 10', `${manyA} ${manyB} -o json | head -c 10 >/dev/null; exit \${PIPESTATUS[0]}`);
measure('10 diff -o json > /dev/full', `${manyA} ${manyB} -o json > /dev/full`);

// Round two: readers covered least (ONNX, GGUF, HDF5, PyTorch views, spooled input).
const pbVarint = (/** @type {number} */ n) => {
  const out = [];
  do {
    out.push((n % 128) | (n >= 128 ? 128 : 0));
    n = Math.floor(n / 128);
  } while (n > 0);
  return Buffer.from(out);
};
const pbLen = (/** @type {number} */ field, /** @type {Buffer} */ payload) => Buffer.concat([pbVarint(field * 8 + 2), pbVarint(payload.length), payload]);
const pbInt = (/** @type {number} */ field, /** @type {number} */ v) => Buffer.concat([pbVarint(field * 8), pbVarint(v)]);
const onnxModel = (/** @type {Buffer[]} */ inits) => Buffer.concat([pbInt(1, 8), pbLen(7, Buffer.concat(inits.map((t) => pbLen(5, t))))]);
const onnxOne = (/** @type {string} */ name) => Buffer.concat([pbInt(1, 1), pbInt(2, 1), pbLen(8, Buffer.from(name)), pbLen(9, Buffer.from([0, 0, 128, 63]))]);
const manyOnnx = join(tmp, 'many.onnx');
writeFileSync(manyOnnx, onnxModel(Array.from({ length: 1_000_000 }, (_, i) => onnxOne(`t${i}`))));
const dupOnnx = join(tmp, 'dups.onnx');
writeFileSync(dupOnnx, onnxModel(Array.from({ length: 1_000_000 }, () => onnxOne('same'))));
const extDir = join(tmp, 'ext');
mkdirSync(extDir);
execFileSync('truncate', ['-s', String(2 ** 26 + 8192), join(extDir, 'w.bin')]);
const extEntry = (/** @type {string} */ k, /** @type {string} */ v) => pbLen(13, Buffer.concat([pbLen(1, Buffer.from(k)), pbLen(2, Buffer.from(v))]));
writeFileSync(
  join(extDir, 'model.onnx'),
  onnxModel(
    Array.from({ length: 2000 }, (_, i) =>
      Buffer.concat([
        pbInt(1, 2 ** 24),
        pbInt(2, 1),
        pbLen(8, Buffer.from(`e${i}`)),
        extEntry('location', 'w.bin'),
        extEntry('offset', String(4 * i)),
        extEntry('length', String(2 ** 26)),
        pbInt(14, 1),
      ]),
    ),
  ),
);
const u64 = (/** @type {number} */ v) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return b;
};
const u32 = (/** @type {number} */ v) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
};
const ggufArray = join(tmp, 'array.gguf');
writeFileSync(
  ggufArray,
  Buffer.concat([Buffer.from('GGUF'), u32(3), u64(0), u64(1), u64(3), Buffer.from('big'), u32(9), u32(0), u64(1e8), Buffer.alloc(1e8, 7)]),
);
measure('r2 ONNX 1M initializers', `inspect ${manyOnnx}`);
measure('r2 ONNX 1M initializers of one name', `inspect ${dupOnnx} >/dev/null`);
measure('r2 ONNX 2,000 external ranges sharing bytes', `inspect ${join(extDir, 'model.onnx')}`);
measure('r2 GGUF 100 MB u8 metadata array', `inspect ${ggufArray}`);
measure('r2 HDF5 40 unwritten 1 GiB datasets (h5py)', `inspect ${hostile('unstored_many.h5')}`);
measure('r2 HDF5 300 chunk entries naming one chunk (h5py)', `inspect ${hostile('chunk_alias.h5')}`);
measure('r2 standard input from /dev/zero', 'inspect - < /dev/zero');

// Round three: decompression work past the inflate budget, streams several tensors share,
// user patterns over hostile names, forged merge input, many small pairs in directories.
const zerosNpz = makeZip(join(tmp, 'zeros.npz'), [{ name: 'w.npy', data: npyF32(new Float32Array(5 << 25)), deflate: true }]);
const zerosGz = join(tmp, 'zeros.safetensors.gz');
{
  const n = 3 << 26; // 768 MiB of f32 zeros after a safetensors header
  const h = Buffer.from(JSON.stringify({ w: { dtype: 'F32', shape: [n], data_offsets: [0, 4 * n] } }));
  writeFileSync(zerosGz, gzipSync(Buffer.concat([u64(h.length), h, Buffer.alloc(4 * n)]), { level: 1 }));
}
const redosName = `${'a'.repeat(60)}!`;
const redosA = safetensors(join(tmp, 'redos_a.safetensors'), { [redosName]: [1], x: [1] });
const redosB = safetensors(join(tmp, 'redos_b.safetensors'), { [redosName]: [2], y: [1] });
const pairsA = join(tmp, 'pairs_a');
const pairsB = join(tmp, 'pairs_b');
mkdirSync(pairsA);
mkdirSync(pairsB);
const small = safetensors(join(tmp, 'small.safetensors'), { w: [1, 2, 3] });
for (let i = 0; i < 3000; i++) {
  symlinkSync(small, join(pairsA, `m${i}.safetensors`));
  symlinkSync(small, join(pairsB, `m${i}.safetensors`));
}
const structMat = join(tmp, 'struct.mat');
const py = spawnSync(
  '/usr/bin/python3',
  [
    '-c',
    `import numpy as np, scipy.io\nr = np.random.default_rng(0)\nscipy.io.savemat('${structMat}', {'net': {f'w{i}': r.standard_normal(500000).astype(np.float32) for i in range(40)}}, do_compression=True)`,
  ],
  { encoding: 'utf8' },
);
measure('r3 .npz of 640 MiB zeros in 650 KB (over 512 MiB + 4× the file)', `inspect ${zerosNpz}`);
measure('r3 gzip of 768 MiB zeros on standard input', `inspect - < ${zerosGz}`);
if (py.status === 0) measure('r3 MAT v5 compressed struct, 40 fields of 2 MB (scipy)', `inspect ${structMat} -o json >/dev/null`);
else console.log(`\n(the MAT struct row needs /usr/bin/python3 with scipy: ${py.stderr.trim().split('\n').pop()})`);
measure("r3 --ignore-keys-regex '(a+)+$' over a name of 60 a's and '!'", `${redosA} ${redosB} --ignore-keys-regex '(a+)+$'`);
measure('r3 merge /dev/zero', 'merge /dev/zero');
measure('r3 directory diff of 3,000 small pairs', `${pairsA} ${pairsB}`, 60);

const big = join(root, 'bench', 'data', 'hostile');
mkdirSync(big, { recursive: true });

// Item 5: a diff in which every one of 1,000,000 tensors changed, against its budget (≤ 10 s,
// ≤ 300 MB): the differences are printed as they are found, a window at a time.
const mixedA = mixedMillion(join(big, 'mixed1m_a.safetensors'), 1);
const mixedB = mixedMillion(join(big, 'mixed1m_b.safetensors'), 2);
for (const [label, args] of [
  ['5 diff 1M all-changed mixed tensors -o json', '-o json'],
  ['5 diff 1M all-changed mixed tensors (text)', ''],
  ['5 diff 1M all-changed mixed tensors -o yaml', '-o yaml'],
]) {
  const r = measure(label, `${mixedA} ${mixedB} ${args} >/dev/null`, 120);
  const met = r.status === 0 && r.seconds <= 10 && r.rssMB <= 300;
  console.log(`|   budget ≤ 10 s, ≤ 300 MB, exit 0 | ${met ? 'met' : 'NOT met'} | | | | |`);
}

// Item 11: gathers of non-contiguous views (torch-written, 115 MB each; built once).
if (!existsSync(join(big, 'sB.pt'))) {
  mkdirSync(big, { recursive: true });
  const py = spawnSync(
    '/usr/bin/python3',
    [
      '-c',
      `import torch
torch.manual_seed(0)
w = torch.randn(4096, 7000)
torch.save({'w': w.t()}, '${big}/tA.pt')
torch.save({'w': (w.t() + 0.01).contiguous()}, '${big}/tB.pt')
s = torch.randn(4096, 7000)
torch.save({'w': s[:, ::2]}, '${big}/sA.pt')
torch.save({'w': (s + 0.5)[:, ::2]}, '${big}/sB.pt')`,
    ],
    { encoding: 'utf8' },
  );
  if (py.status !== 0) console.log(`\n(item 11 skipped: /usr/bin/python3 with torch is needed to write its inputs: ${py.stderr.trim().split('\n').pop()})`);
}
if (existsSync(join(big, 'sB.pt'))) {
  measure('11 diff transposed 115 MB view vs dense', `${big}/tA.pt ${big}/tB.pt -o json >/dev/null`);
  measure('11 diff two 115 MB strided views', `${big}/sA.pt ${big}/sB.pt -o json >/dev/null`);
}
rmSync(tmp, { recursive: true, force: true });
