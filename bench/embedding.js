#!/usr/bin/env node
// --embedding-analysis and --clustering-change on embedding-sized pairs: wall time and peak
// RSS of the real CLI path (bench/child.js). Cases: GPT-2's token embedding (50257 × 768 f32,
// 154 MB per file: row pass, kNN with sampled queries, Procrustes on a 2730-row sample) and a
// 32000 × 512 one (Procrustes on a 4096-row sample). B moves every row a little and 1% of
// the rows a lot. Usage: node bench/embedding.js  (after npm run build)
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bufferedWriter } from './generate.js';

const here = dirname(fileURLToPath(import.meta.url));
const data = join(here, 'data');

/**
 * One f32 tensor `transformer.wte.weight` [rows, dim]; `moved` > 0 perturbs it as B.
 * @param {string} path @param {number} rows @param {number} dim @param {number} moved
 */
function makeEmbedding(path, rows, dim, moved) {
  const header = { 'transformer.wte.weight': { dtype: 'F32', shape: [rows, dim], data_offsets: [0, rows * dim * 4] } };
  let json = JSON.stringify(header);
  while ((json.length + 8) % 8 !== 0) json += ' ';
  if (existsSync(path) && statSync(path).size === 8 + json.length + rows * dim * 4) return path;
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'w');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeSync(fd, len);
  writeSync(fd, Buffer.from(json));
  const { write, flush } = bufferedWriter(fd);
  const row = new Float32Array(dim);
  let state = 12345;
  let noise = 999;
  /** @param {number} s */
  const next = (s) => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
  for (let r = 0; r < rows; r++) {
    const big = moved > 0 && r % 100 === 0;
    for (let j = 0; j < dim; j++) {
      state = next(state);
      let x = (state / 4294967296 - 0.5) * 0.07;
      if (moved > 0) {
        noise = next(noise);
        x += (noise / 4294967296 - 0.5) * (big ? 0.07 : 0.002);
      }
      row[j] = x;
    }
    write(new Uint8Array(row.buffer));
  }
  flush();
  closeSync(fd);
  return path;
}

/** @param {string[]} args */
function run(args) {
  const child = spawnSync(process.execPath, [join(here, 'child.js'), ...args], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  const r = JSON.parse(/** @type {string} */ (child.stderr.trim().split('\n').pop()));
  if (r.code > 1) throw new Error(`diffai ${args.join(' ')}: ${child.stderr}`);
  return r;
}

const rowsOut = [];
for (const [rows, dim] of [
  [50257, 768],
  [32000, 512],
]) {
  const a = makeEmbedding(join(data, `emb_${rows}x${dim}_a.safetensors`), rows, dim, 0);
  const b = makeEmbedding(join(data, `emb_${rows}x${dim}_b.safetensors`), rows, dim, 1);
  for (const opts of [['--embedding-analysis'], ['--clustering-change']]) {
    const r = run([a, b, ...opts, '-o', 'json']);
    rowsOut.push({ case: `${rows}x${dim} ${opts.join(' ')}`, seconds: (r.ms / 1000).toFixed(2), peak_rss_mb: (r.maxRssKB / 1024).toFixed(0) });
  }
}
console.table(rowsOut);
