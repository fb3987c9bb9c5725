/** What every output format implements (src/render/registry.ts lists them). */
import type { ReportMeta } from '../report/document.js';
import type { PairStream } from '../diff/types.js';
import type { Report } from '../report/types.js';
import type { Palette } from './color.js';
import type { OutputPiece } from './stream-writer.js';

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
  /**
   * The same text in pieces, for reports too large to hold as one string (a
   * million-tensor inspection); undefined when this renderer has no streamed form of
   * `report` (then `render` is used). Byte pieces are borrowed, as pairChunks' are.
   */
  chunks?(report: Report, options: RenderOptions): Iterable<OutputPiece> | undefined;
  /**
   * A two-file diff as its differences arrive, window by window: the very text `render`
   * gives the pair report holding them all; undefined when these options need every result
   * first (the caller then collects them and uses `render`). A piece given as bytes is
   * UTF-8 and only borrowed: the renderer may reuse its buffer once the next piece is asked
   * for, so a consumer that keeps one copies it.
   */
  pairChunks?(stream: PairStream, options: RenderOptions): AsyncIterable<OutputPiece> | undefined;
}
