#!/usr/bin/env node
// Prints bench/results/latest.json as the Markdown tables the README carries.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const r = JSON.parse(readFileSync(join(here, 'results', 'latest.json'), 'utf8'));
/** @param {number | null | undefined} x @param {number} [d] */
const f = (x, d = 2) => (x === null || x === undefined ? '–' : x.toFixed(d));
const out = [];
out.push(
  `Measured ${r.date.slice(0, 10)} on a ${r.cores}-core ${r.cpu} VM (24 GiB), Node ${r.node}, page cache warm${r.quick ? ' (quick mode)' : ''}; load average ${f(r.load, 1)} during the run${r.baseline ? ', each case alternating with a build of main (baseline column)' : ''}.`,
);
out.push('', '| kernel (1 MiB chunk, hot) | GB/s |', '| --- | ---: |');
for (const k of r.kernels) out.push(`| ${k.name} | ${f(k.gbPerSec)} |`);
const base = r.baseline ? ' | main: GB/s (wall) |' : ' |';
out.push(
  '',
  `| end to end (best of 3) | input | GB/s | time | wall incl. Node start-up | GB/s over wall | peak RSS${base}`,
  `| --- | ---: | ---: | ---: | ---: | ---: | ---:${r.baseline ? ' | ---: |' : ' |'}`,
);
for (const e of r.e2e)
  out.push(
    `| ${e.name} | ${f(e.bytes / 1e9)} GB | ${f(e.gbPerSec)} | ${f(e.ms, 0)} ms | ${f(e.wallMs, 0)} ms | ${f(e.wallGbPerSec)} | ${e.peakRssMB === null ? '–' : `${f(e.peakRssMB, 0)} MB`}${r.baseline ? ` | ${e.baseline ? `${f(e.baseline.gbPerSec)} (${f(e.baseline.wallMs, 0)} ms)` : '–'} |` : ' |'}`,
  );
if (r.startup)
  out.push(
    '',
    `Start-up: a diff of two small files takes ${f(r.startup.oursMs, 0)} ms wall against ${f(r.startup.nodeMs, 0)} ms for \`node -e 0\` (${f(r.startup.ratio)}×, medians, alternating)${r.startup.baselineMs ? `; main: ${f(r.startup.baselineMs, 0)} ms (${f(r.startup.baselineRatio)}×)` : ''}.`,
  );
if (r.peers?.length) {
  out.push('', '| peer (same files, wall incl. start-up) | peer GB/s | diffai row | diffai GB/s | diffai ÷ peer |', '| --- | ---: | --- | ---: | ---: |');
  for (const p of r.peers) out.push(`| ${p.name} | ${f(p.gbPerSec)} | ${p.ours} | ${f(p.oursGbPerSec)} | ${f(p.oursGbPerSec / p.gbPerSec)}× |`);
}
for (const n of r.notes ?? []) out.push('', `Note: ${n}.`);
if (r.targets?.length) {
  out.push('', '| target (issue 17) | this run | goal | met |', '| --- | ---: | ---: | :---: |');
  // Older results carry ratios only (no unit, always "at least").
  for (const t of r.targets)
    out.push(`| ${t.name} | ${f(t.value)}${t.unit ? ` ${t.unit}` : ''} | ${t.better === 'max' ? '≤' : '≥'} ${f(t.goal)} | ${t.met ? 'yes' : 'no'} |`);
}
console.log(out.join('\n'));
