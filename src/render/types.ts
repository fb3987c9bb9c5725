/** What every output format implements (src/render/registry.ts lists them). */
import type { ReportMeta } from '../report/document.js';
import type { Report } from '../report/types.js';
import type { Palette } from './color.js';
import type { StreamWriter } from './stream-writer.js';

export interface RenderOptions {
  /** Colours for text-like formats (default: none). */
  palette?: Palette;
  /** Text: append min/max to each changed-values line. */
  stats?: boolean;
  /** Charts: inline SVG in HTML, linked SVG files in Markdown (needs `asset`), sparklines in text. */
  charts?: boolean;
  /** The review view (`--review-friendly`): changed items only, grouped by block, largest changes first. */
  review?: boolean;
  /** Command line, version and file sizes for report headers (Markdown, HTML). */
  meta?: ReportMeta;
  /**
   * Stores a file that belongs to the report (a chart's SVG for Markdown) and returns the
   * link to it. Without it, Markdown leaves charts out.
   */
  asset?: (name: string, content: string) => string;
}

export interface Renderer {
  render(report: Report, options: RenderOptions): string | Promise<string>;
  /** The same text as render(), written piece by piece (renderers of long reports); flushing is the caller's. */
  stream?(report: Report, options: RenderOptions, out: StreamWriter): Promise<void>;
}
