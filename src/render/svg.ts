/**
 * Charts as standalone inline SVG (no script, no network): horizontal bars, heat maps and
 * A/B value histograms. Every mark carries its exact value (`data-value`, `<title>`), so a
 * reader can hover it and a test can count and check it. Colours read on light and dark
 * backgrounds; text takes the page's `--fg` when embedded and a scheme-aware default when
 * the SVG is a file of its own.
 */
import type { Chart } from '../report/document.js';
import { formatNumber } from './cells.js';

const FONT = "font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Helvetica,Arial,sans-serif;font-size:12px";
const STYLE = `<style>.dx-t{fill:var(--fg,#24292f);${FONT}}.dx-m{fill:var(--muted,#57606a);${FONT};font-size:11px}.dx-g{stroke:var(--grid,#8c959f55)}@media (prefers-color-scheme:dark){.dx-t{fill:var(--fg,#c9d1d9)}.dx-m{fill:var(--muted,#8b949e)}}</style>`;
/** Series colours (A, B, …): distinguishable on white and on near-black, and for common colour-vision deficiencies. */
export const SERIES_COLORS = ['#4c78c8', '#e07b39', '#54a24b', '#b279a2', '#9d755d'];
/** Viridis stops: ordered in lightness, readable in both schemes. */
const RAMP = ['#440154', '#3b528b', '#21918c', '#5ec962', '#fde725'];
const CHAR_WIDTH = 6.6;

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function truncate(label: string, maxChars: number): string {
  return label.length <= maxChars ? label : `…${label.slice(label.length - maxChars + 1)}`;
}

function svg(width: number, height: number, kind: string, title: string, body: string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" class="dx-chart" data-chart="${kind}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeXml(title)}">${STYLE}<title>${escapeXml(title)}</title>${body.join('')}</svg>`;
}

function rampColor(t: number): string {
  const x = Math.min(1, Math.max(0, t)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(x));
  const f = x - i;
  const [a, b] = [RAMP[i]!, RAMP[i + 1]!].map((h) => [1, 3, 5].map((k) => Number.parseInt(h.slice(k, k + 2), 16)));
  const mix = a!.map((v, k) => Math.round(v + (b![k]! - v) * f));
  return `rgb(${mix.join(',')})`;
}

function legend(x: number, y: number, names: string[]): string {
  let at = x;
  return names
    .map((n, i) => {
      const label = truncate(n, 18);
      const item = `<rect x="${at}" y="${y - 9}" width="10" height="10" rx="2" fill="${SERIES_COLORS[i % SERIES_COLORS.length]}"/><text class="dx-t" x="${at + 14}" y="${y}">${escapeXml(label)}</text>`;
      at += 14 + label.length * CHAR_WIDTH + 16;
      return item;
    })
    .join('');
}

/** One row per label, one bar per series (grouped), scaled to the largest value. */
function bars(chart: Extract<Chart, { kind: 'bars' }>): string {
  const labelChars = Math.min(40, Math.max(6, ...chart.labels.map((l) => l.length)));
  const left = Math.round(labelChars * CHAR_WIDTH) + 12;
  const plot = 320;
  const valueRoom = 80;
  const barH = 14;
  const group = chart.series.length * barH + 6;
  const top = chart.series.length > 1 ? 26 : 8;
  const height = top + chart.labels.length * group + 8;
  const width = left + plot + valueRoom;
  const max = Math.max(0, ...chart.series.flatMap((s) => s.values.map((v) => (v !== null && Number.isFinite(v) ? Math.abs(v) : 0))));
  const body: string[] = [];
  if (chart.series.length > 1)
    body.push(
      legend(
        left,
        16,
        chart.series.map((s) => s.name),
      ),
    );
  chart.labels.forEach((label, i) => {
    const y0 = top + i * group;
    body.push(
      `<text class="dx-t" x="${left - 8}" y="${y0 + group / 2 + 1}" text-anchor="end" dominant-baseline="middle"><title>${escapeXml(label)}</title>${escapeXml(truncate(label, labelChars))}</text>`,
    );
    chart.series.forEach((s, k) => {
      const v = s.values[i] ?? null;
      const w = v !== null && Number.isFinite(v) && max > 0 ? Math.max(1, (Math.abs(v) / max) * plot) : 0;
      const y = y0 + k * barH + 3;
      const text = formatNumber(v);
      body.push(
        `<rect class="dx-bar" data-label="${escapeXml(label)}" data-series="${escapeXml(s.name)}" data-value="${v ?? ''}" x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH - 3}" rx="2" fill="${SERIES_COLORS[k % SERIES_COLORS.length]}"><title>${escapeXml(`${label} · ${s.name}: ${text}`)}</title></rect>`,
        `<text class="dx-m" x="${(left + w + 5).toFixed(1)}" y="${y + (barH - 3) / 2 + 1}" dominant-baseline="middle">${escapeXml(text)}</text>`,
      );
    });
  });
  body.push(`<line class="dx-g" x1="${left}" x2="${left}" y1="${top - 2}" y2="${height - 6}"/>`);
  return svg(width, height, 'bars', chart.title, body);
}

/** A grid of cells coloured along the viridis ramp between the smallest and largest value. */
function heatmap(chart: Extract<Chart, { kind: 'heatmap' }>): string {
  const labelChars = Math.min(36, Math.max(4, ...chart.rows.map((l) => l.length)));
  const left = Math.round(labelChars * CHAR_WIDTH) + 12;
  const colChars = Math.min(24, Math.max(3, ...chart.columns.map((l) => l.length)));
  const cell = Math.max(22, Math.min(64, Math.floor(560 / Math.max(1, chart.columns.length))));
  const cellH = 20;
  const top = Math.round(Math.min(colChars * CHAR_WIDTH * 0.75, 120)) + 14;
  const finite = chart.values.flat().filter((v): v is number => v !== null && Number.isFinite(v));
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  const width = left + chart.columns.length * cell + 150;
  const height = top + chart.rows.length * cellH + 10;
  const body: string[] = [];
  const showValues = cell >= 44 && chart.columns.length * chart.rows.length <= 400;
  chart.columns.forEach((c, j) => {
    const x = left + j * cell + cell / 2;
    body.push(`<text class="dx-m" transform="translate(${x},${top - 6}) rotate(-40)"><title>${escapeXml(c)}</title>${escapeXml(truncate(c, colChars))}</text>`);
  });
  chart.rows.forEach((r, i) => {
    const y = top + i * cellH;
    body.push(
      `<text class="dx-t" x="${left - 8}" y="${y + cellH / 2 + 1}" text-anchor="end" dominant-baseline="middle"><title>${escapeXml(r)}</title>${escapeXml(truncate(r, labelChars))}</text>`,
    );
    chart.columns.forEach((c, j) => {
      const v = chart.values[i]?.[j] ?? null;
      const t = v === null || !Number.isFinite(v) ? null : hi > lo ? (v - lo) / (hi - lo) : 0.5;
      const fill = t === null ? 'none' : rampColor(t);
      const x = left + j * cell;
      body.push(
        `<rect class="dx-cell" data-row="${escapeXml(r)}" data-col="${escapeXml(c)}" data-value="${v ?? ''}" x="${x + 1}" y="${y + 1}" width="${cell - 2}" height="${cellH - 2}" rx="2" fill="${fill}"${t === null ? ' stroke="#8c959f" stroke-dasharray="3 2"' : ''}><title>${escapeXml(`${r} · ${c}: ${formatNumber(v)}`)}</title></rect>`,
      );
      if (showValues && t !== null)
        body.push(
          `<text x="${x + cell / 2}" y="${y + cellH / 2 + 1}" text-anchor="middle" dominant-baseline="middle" style="${FONT};font-size:10px" fill="${t > 0.6 ? '#1b1f24' : '#ffffff'}">${escapeXml(formatNumber(v))}</text>`,
        );
    });
  });
  // Colour scale.
  const sx = left + chart.columns.length * cell + 24;
  const stops = RAMP.map((c, k) => `<stop offset="${k / (RAMP.length - 1)}" stop-color="${c}"/>`).join('');
  const id = `dx-ramp-${Math.abs(hash(chart.title))}`;
  body.push(
    `<defs><linearGradient id="${id}" x1="0" x2="0" y1="1" y2="0">${stops}</linearGradient></defs>`,
    `<rect x="${sx}" y="${top}" width="12" height="${Math.max(40, chart.rows.length * cellH)}" fill="url(#${id})" rx="2"/>`,
    `<text class="dx-m" x="${sx + 18}" y="${top + 9}">${escapeXml(formatNumber(finite.length > 0 ? hi : null))}</text>`,
    `<text class="dx-m" x="${sx + 18}" y="${top + Math.max(40, chart.rows.length * cellH)}">${escapeXml(formatNumber(finite.length > 0 ? lo : null))}</text>`,
  );
  return svg(width, height, 'heatmap', chart.title, body);
}

/** A's and B's counts per bin, side by side, over the common range. */
function histogram(chart: Extract<Chart, { kind: 'histogram' }>): string {
  const plotW = 400;
  const plotH = 110;
  const left = 44;
  const top = 26;
  const bins = chart.a.length;
  const max = Math.max(1, ...chart.a, ...chart.b);
  const binW = plotW / bins;
  const body: string[] = [legend(left, 14, [chart.labels[0], chart.labels[1]])];
  for (const [k, counts] of [chart.a, chart.b].entries()) {
    counts.forEach((n, i) => {
      const h = (n / max) * plotH;
      const x = left + i * binW + (k * binW) / 2;
      const from = chart.lo + ((chart.hi - chart.lo) * i) / bins;
      const to = chart.lo + ((chart.hi - chart.lo) * (i + 1)) / bins;
      body.push(
        `<rect class="dx-bin" data-side="${k === 0 ? 'a' : 'b'}" data-value="${n}" x="${x.toFixed(1)}" y="${(top + plotH - h).toFixed(1)}" width="${(binW / 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${SERIES_COLORS[k]}"><title>${escapeXml(`${chart.labels[k]}: ${n} values in [${formatNumber(from)}, ${formatNumber(to)}${i === bins - 1 ? ']' : ')'}`)}</title></rect>`,
      );
    });
  }
  body.push(
    `<line class="dx-g" x1="${left}" x2="${left + plotW}" y1="${top + plotH}" y2="${top + plotH}"/>`,
    `<text class="dx-m" x="${left}" y="${top + plotH + 16}">${escapeXml(formatNumber(chart.lo))}</text>`,
    `<text class="dx-m" x="${left + plotW}" y="${top + plotH + 16}" text-anchor="end">${escapeXml(formatNumber(chart.hi))}</text>`,
    `<text class="dx-m" x="${left - 6}" y="${top + 8}" text-anchor="end">${max}</text>`,
  );
  return svg(left + plotW + 20, top + plotH + 26, 'histogram', chart.title, body);
}

function hash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

export function renderChart(chart: Chart): string {
  switch (chart.kind) {
    case 'bars':
      return bars(chart);
    case 'heatmap':
      return heatmap(chart);
    case 'histogram':
      return histogram(chart);
  }
}
