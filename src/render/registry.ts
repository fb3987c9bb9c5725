/**
 * Output formats by name (`--output`): each renderer turns any report into text. Renderers
 * load only when used (YAML pulls in js-yaml). Adding a format: one module exporting a
 * Renderer as default, plus one line here.
 */
import type { Report } from '../report/types.js';
import type { StreamWriter } from './stream-writer.js';
import type { Renderer, RenderOptions } from './types.js';

export type { Renderer, RenderOptions };

export const RENDERERS = {
  text: () => import('./text-report.js').then((m) => m.default),
  json: () => import('./json.js').then((m) => m.default),
  yaml: () => import('./yaml.js').then((m) => m.default),
  markdown: () => import('./markdown.js').then((m) => m.default),
  html: () => import('./html.js').then((m) => m.default),
} satisfies Record<string, () => Promise<Renderer>>;

export type OutputFormat = keyof typeof RENDERERS;

export const OUTPUT_FORMATS = Object.keys(RENDERERS) as OutputFormat[];

/** The report in the named format. */
export async function render(report: Report, format: OutputFormat, options: RenderOptions = {}): Promise<string> {
  const renderer = await RENDERERS[format]();
  return renderer.render(report, options);
}

/** The report in the named format, written to `out` piece by piece when the renderer streams (else whole), then flushed. */
export async function renderTo(report: Report, format: OutputFormat, options: RenderOptions, out: StreamWriter): Promise<void> {
  const renderer = await RENDERERS[format]();
  if (renderer.stream) await renderer.stream(report, options, out);
  else await out.write(await renderer.render(report, options));
  await out.flush();
}
