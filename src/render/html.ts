/**
 * A self-contained HTML page of any report (`-o html`, `--generate-report FILE.html`):
 * styles, the small sort/filter script and SVG charts are inline, nothing is fetched, and
 * the page opens from disk. Numeric cells carry the report model's exact value in
 * `data-value` (what sorting uses and what JSON prints) and show the text output's format.
 */
import { type Block, buildDocument, type Cell, type TableBlock } from '../report/document.js';
import { columnKinds, formatCell } from './cells.js';
import { escapeXml, renderChart } from './svg.js';
import type { Renderer, RenderOptions } from './types.js';
import { termSafeLines } from '../terminal.js';

/** Rows shown before a table's "Show all" button. */
export const HTML_TABLE_PREVIEW = 20;

const esc = escapeXml;

const CSS = `
:root{--bg:#ffffff;--fg:#1f2328;--muted:#59636e;--border:#d1d9e0;--soft:#f6f8fa;--accent:#0969da;--head:#eef1f4;--grid:#8c959f55;color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--border:#3d444d;--soft:#151b23;--accent:#4493f8;--head:#1c232c;--grid:#9198a155}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.5 -apple-system,BlinkMacSystemFont,"Segoe UI","Noto Sans",Helvetica,Arial,sans-serif}
main,header.top,footer{max-width:1280px;margin:0 auto;padding:0 28px}
header.top{padding-top:28px;padding-bottom:8px;border-bottom:1px solid var(--border)}
header.top .kicker{font-size:12px;letter-spacing:.08em;text-transform:uppercase;color:var(--muted);font-weight:600}
h1{font-size:24px;font-weight:600;margin:4px 0 12px;overflow-wrap:anywhere}
h2,h3,h4,h5,h6{display:inline;font-weight:600;margin:0}
h2{font-size:19px}h3{font-size:16px}h4,h5,h6{font-size:14px}
details.section{margin:18px 0 6px}
details.section>summary{cursor:pointer;padding:4px 0;list-style-position:outside}
details.section.depth-2{border-top:1px solid var(--border);padding-top:10px}
details.section>.body{padding-left:2px}
code,.mono,td.text{font-family:ui-monospace,SFMono-Regular,"SF Mono",Menlo,Consolas,monospace;font-size:12.5px}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:4px 18px;margin:14px 0}
dl.facts dt{color:var(--muted)}dl.facts dd{margin:0;overflow-wrap:anywhere}
dl.facts code{background:var(--soft);border:1px solid var(--border);border-radius:6px;padding:1px 6px}
p.text{margin:10px 0}
.tools{display:flex;gap:10px;align-items:center;margin:10px 0 6px}
.tools input{font:inherit;padding:5px 10px;border:1px solid var(--border);border-radius:6px;background:var(--bg);color:var(--fg);min-width:260px}
.tools .count{color:var(--muted);font-size:12px}
.table{margin:12px 0}
.scroll{overflow-x:auto;border:1px solid var(--border);border-radius:8px}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:5px 10px;border-bottom:1px solid var(--border);text-align:left;vertical-align:top;white-space:nowrap}
td.text.wrap{white-space:normal;word-break:break-all}
th{background:var(--head);position:sticky;top:0;font-weight:600;font-size:12.5px}
th button{all:unset;cursor:pointer;display:inline-flex;gap:4px;align-items:center}
th button::after{content:"↕";color:var(--muted);font-size:11px}
th[aria-sort=ascending] button::after{content:"▲";color:var(--accent)}
th[aria-sort=descending] button::after{content:"▼";color:var(--accent)}
th.num,td.num{text-align:right}
tbody tr:nth-child(even){background:var(--soft)}
tbody tr:hover{background:color-mix(in srgb,var(--accent) 10%,transparent)}
tbody tr:last-child td{border-bottom:0}
td.none{color:var(--muted)}
table.collapsed tbody tr.extra{display:none}
button.more{font:inherit;font-size:12.5px;margin:8px 0;padding:4px 12px;border-radius:6px;border:1px solid var(--border);background:var(--soft);color:var(--accent);cursor:pointer}
ul.list{margin:8px 0;padding-left:22px}ul.list li{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
figure.chart{display:inline-block;vertical-align:top;max-width:100%;margin:14px 14px 0 0;padding:12px;border:1px solid var(--border);border-radius:8px;overflow-x:auto}
figure.chart figcaption{color:var(--muted);font-size:12.5px;margin-bottom:6px}
footer{color:var(--muted);font-size:12px;padding-top:24px;padding-bottom:32px}
`;

/** Sorting (by data-value for numbers), filtering and the collapse of long tables. */
const SCRIPT = `
(()=>{
  const preview=${HTML_TABLE_PREVIEW};
  const numberOf=(td)=>td.dataset.value===''?null:Number(td.dataset.value);
  for(const wrap of document.querySelectorAll('.table')){
    const table=wrap.querySelector('table');
    const body=table.tBodies[0];
    const rows=[...body.rows];
    const more=wrap.querySelector('button.more');
    const count=wrap.querySelector('.count');
    const mark=()=>{let shown=0;for(const r of body.rows){if(r.hidden)continue;r.classList.toggle('extra',shown>=preview);shown++;}
      if(more){const extra=shown>preview;more.hidden=!extra;more.textContent=table.classList.contains('collapsed')?'Show all '+shown+' rows':'Show fewer rows';}
      if(count)count.textContent=shown===rows.length?rows.length+' rows':shown+' of '+rows.length+' rows';};
    if(more)more.addEventListener('click',()=>{table.classList.toggle('collapsed');mark();});
    const filter=wrap.querySelector('input[type=search]');
    if(filter)filter.addEventListener('input',()=>{const q=filter.value.trim().toLowerCase();for(const r of rows)r.hidden=q!==''&&!r.textContent.toLowerCase().includes(q);mark();});
    table.querySelectorAll('th').forEach((th,col)=>{
      const button=th.querySelector('button');if(!button)return;
      button.addEventListener('click',()=>{
        const dir=th.getAttribute('aria-sort')==='ascending'?'descending':'ascending';
        table.querySelectorAll('th').forEach((h)=>h.setAttribute('aria-sort','none'));
        th.setAttribute('aria-sort',dir);
        const sign=dir==='ascending'?1:-1;
        const numeric=th.classList.contains('num');
        const key=(r)=>numeric?numberOf(r.cells[col]):r.cells[col].textContent;
        // Missing values last in both directions.
        const sorted=[...body.rows].sort((x,y)=>{const a=key(x),b=key(y);if(a===null||b===null)return a===b?0:a===null?1:-1;
          return sign*(numeric?a-b:String(a).localeCompare(String(b),undefined,{numeric:true}));});
        for(const r of sorted)body.appendChild(r);
        mark();
      });
    });
    mark();
  }
})();
`;

function cell(c: Cell, numeric: boolean, integer: boolean): string {
  const text = esc(formatCell(c, integer));
  if (numeric) {
    const value = typeof c === 'number' && Number.isFinite(c) ? String(c) : '';
    return `<td class="num${c === null ? ' none' : ''}" data-value="${value}"${value !== '' && value !== text ? ` title="${value}"` : ''}>${text}</td>`;
  }
  const wrap = typeof c === 'string' && c.length > 80 ? ' wrap' : '';
  return `<td class="text${wrap}${c === null ? ' none' : ''}">${text}</td>`;
}

function table(t: TableBlock): string {
  const { numeric, integer } = columnKinds(t.rows, t.columns.length);
  const long = t.rows.length > HTML_TABLE_PREVIEW;
  const head = t.columns
    .map((c, j) => `<th scope="col" class="${numeric[j] ? 'num' : 'text'}" aria-sort="none"><button type="button">${esc(c)}</button></th>`)
    .join('');
  const body = t.rows.map((r) => `<tr>${r.map((c, j) => cell(c, numeric[j]!, integer[j]!)).join('')}</tr>`).join('\n');
  const tools =
    t.rows.length > 5
      ? `<div class="tools"><input type="search" placeholder="Filter ${t.rows.length} rows…" aria-label="Filter rows"><span class="count"></span></div>`
      : '';
  return `<div class="table" data-table="${esc(t.name)}">${tools}<div class="scroll"><table class="${long ? 'collapsed' : ''}" data-table="${esc(t.name)}"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>${long ? '<button type="button" class="more"></button>' : ''}</div>`;
}

function blocks(list: Block[], depth: number): string {
  return list
    .map((b) => {
      switch (b.kind) {
        case 'text':
          return `<p class="text">${esc(b.text)}</p>`;
        case 'facts':
          return b.items.length === 0
            ? ''
            : `<dl class="facts">${b.items.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${k === 'Command' ? `<code>${esc(String(v))}</code>` : esc(formatCell(v))}</dd>`).join('')}</dl>`;
        case 'table':
          return table(b);
        case 'list':
          return `<ul class="list">${b.items.map((i) => `<li>${esc(i)}</li>`).join('')}</ul>`;
        case 'chart':
          return `<figure class="chart"><figcaption>${esc(b.chart.title)}</figcaption>${renderChart(b.chart)}</figure>`;
        case 'section': {
          const h = Math.min(6, depth);
          return `<details class="section depth-${depth}"${b.collapsed ? '' : ' open'}><summary><h${h}>${esc(b.title)}</h${h}></summary><div class="body">${blocks(b.blocks, depth + 1)}</div></details>`;
        }
      }
      return '';
    })
    .join('\n');
}

export function renderHtml(report: Parameters<Renderer['render']>[0], options: RenderOptions = {}): string {
  const doc = buildDocument(report, options);
  const version = options.meta?.version ? ` ${esc(options.meta.version)}` : '';
  return termSafeLines(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="diffai${version}">
<title>diffai report: ${esc(doc.title)}</title>
<style>${CSS}</style>
</head>
<body>
<header class="top"><div class="kicker">diffai ${report.kind === 'inspect' ? 'inspection' : 'report'}</div><h1>${esc(doc.title)}</h1></header>
<main>
${blocks(doc.blocks, 2)}
</main>
<footer>Generated by diffai${version}. Self-contained: no network access needed.</footer>
<script>${SCRIPT}</script>
</body>
</html>
`);
}

const html: Renderer = { render: renderHtml };
export default html;
