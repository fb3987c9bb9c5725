/** What every output format implements (src/render/registry.ts lists them). */
import type { Report } from '../report/types.js';
import type { Palette } from './color.js';

export interface RenderOptions {
  /** Colours for text-like formats (default: none). */
  palette?: Palette;
  /** Text: append min/max to each changed-values line. */
  stats?: boolean;
}

export interface Renderer {
  render(report: Report, options: RenderOptions): string | Promise<string>;
}
