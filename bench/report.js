#!/usr/bin/env node
// Prints bench/results/latest.json as the Markdown table the README carries.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const r = JSON.parse(readFileSync(join(here, 'results', 'latest.json'), 'utf8'));
/** @param {number | null | undefined} x @param {number} [d] */
const f = (x, d = 2) => (x === null || x === undefined ? '–' : x.toFixed(d));
const out = [];
out.push(`Measured ${r.date.slice(0, 10)} on a ${r.cores}-core ${r.cpu} VM (24 GiB), Node ${r.node}, page cache warm${r.quick ? ' (quick mode)' : ''}.`);
out.push('', '| kernel (1 MiB chunk, hot) | GB/s |', '| --- | ---: |');
for (const k of r.kernels) out.push(`| ${k.name} | ${f(k.gbPerSec)} |`);
out.push('', '| end to end (best of 3) | input | GB/s | time | wall incl. Node start-up | peak RSS |', '| --- | ---: | ---: | ---: | ---: | ---: |');
for (const e of r.e2e)
  out.push(
    `| ${e.name} | ${f(e.bytes / 1e9)} GB | ${f(e.gbPerSec)} | ${f(e.ms, 0)} ms | ${f(e.wallMs, 0)} ms | ${e.peakRssMB === null ? '–' : `${f(e.peakRssMB, 0)} MB`} |`,
  );
if (r.peers?.length) {
  out.push('', '| peer (same data) | GB/s | diffai inspect | ratio |', '| --- | ---: | ---: | ---: |');
  for (const p of r.peers) out.push(`| ${p.name} | ${f(p.gbPerSec)} | ${f(p.oursGbPerSec)} | ${f(p.oursGbPerSec / p.gbPerSec, 1)}× |`);
}
console.log(out.join('\n'));
