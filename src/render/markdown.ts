/**
 * GitHub-flavoured Markdown of any report (`-o markdown`, `--generate-report FILE.md`): the
 * report document's sections as headings (collapsed ones and long tables inside
 * `<details>`), its tables as GFM tables, charts as SVG files linked beside the report.
 */
import { type Block, buildDocument, type TableBlock } from '../report/document.js';
import { columnKinds, formatCell } from './cells.js';
import { renderChart } from './svg.js';
import type { Renderer, RenderOptions } from './types.js';
import { termSafeLines } from '../terminal.js';

/** Tables longer than this are folded into a `<details>` block. */
export const MD_TABLE_FOLD = 50;

/** Backslash-escapes what Markdown would read as markup (GFM unescapes ASCII punctuation). */
export function escapeMarkdown(s: string): string {
  return s.replace(/[\\`*_<>|~]|\](?=\()|^#/g, (c) => `\\${c}`).replace(/\r?\n/g, ' ');
}

function table(t: TableBlock): string {
  const { numeric, integer } = columnKinds(t.rows, t.columns.length);
  const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const lines = [
    row(t.columns.map((c) => escapeMarkdown(c) || ' ')),
    row(numeric.map((n) => (n ? '---:' : '---'))),
    ...t.rows.map((r) => row(r.map((c, j) => escapeMarkdown(formatCell(c, integer[j]))))),
  ];
  const body = lines.join('\n');
  return t.rows.length > MD_TABLE_FOLD ? `<details><summary>${t.rows.length} rows</summary>\n\n${body}\n\n</details>` : body;
}

function slug(s: string): string {
  return (
    s
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 60) || 'chart'
  );
}

function blocks(list: Block[], depth: number, options: RenderOptions, counter: { n: number }): string[] {
  const out: string[] = [];
  for (const b of list) {
    switch (b.kind) {
      case 'text':
        out.push(escapeMarkdown(b.text));
        break;
      case 'facts':
        if (b.items.length > 0)
          out.push(
            b.items
              .map(([k, v]) => `- **${escapeMarkdown(k)}:** ${k === 'Command' ? `\`${String(v).replace(/`/g, "'")}\`` : escapeMarkdown(formatCell(v))}`)
              .join('\n'),
          );
        break;
      case 'table':
        out.push(table(b));
        break;
      case 'list':
        out.push(b.items.map((i) => `- ${escapeMarkdown(i)}`).join('\n'));
        break;
      case 'chart':
        if (options.asset) {
          counter.n++;
          const link = options.asset(`${String(counter.n).padStart(2, '0')}-${slug(b.chart.title)}.svg`, renderChart(b.chart));
          out.push(`![${escapeMarkdown(b.chart.title)}](${encodeURI(link)})`);
        }
        break;
      case 'section': {
        const inner = blocks(b.blocks, depth + 1, options, counter);
        if (inner.length === 0) break; // e.g. charts without a place to write them
        if (b.collapsed) out.push(`<details><summary><strong>${escapeHtml(b.title)}</strong></summary>\n\n${inner.join('\n\n')}\n\n</details>`);
        else out.push(`${'#'.repeat(Math.min(6, depth))} ${escapeMarkdown(b.title)}`, ...inner);
        break;
      }
    }
  }
  return out;
}

function escapeHtml(s: string): string {
  return s.replace(/[<>&]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[c]!);
}

export function renderMarkdown(report: Parameters<Renderer['render']>[0], options: RenderOptions = {}): string {
  const doc = buildDocument(report, options);
  const parts = [`# diffai report: ${escapeMarkdown(doc.title)}`, ...blocks(doc.blocks, 2, options, { n: 0 })];
  return termSafeLines(`${parts.join('\n\n')}\n`);
}

const markdown: Renderer = { render: renderMarkdown };
export default markdown;
