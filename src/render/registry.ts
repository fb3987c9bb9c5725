/**
 * Output formats by name (`--output`): each renderer turns any report into text. Renderers
 * load only when used (YAML pulls in js-yaml). Adding a format: one module exporting a
 * Renderer as default, plus one line here.
 */
import type { Report } from '../report/types.js';
import type { Renderer, RenderOptions } from './types.js';
import type { OutputPiece } from './stream-writer.js';

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

/** The report in the named format, in pieces (one piece when the renderer has no streamed form). */
export async function renderChunks(report: Report, format: OutputFormat, options: RenderOptions = {}): Promise<Iterable<OutputPiece>> {
  const renderer = await RENDERERS[format]();
  return renderer.chunks?.(report, options) ?? [await renderer.render(report, options)];
}
