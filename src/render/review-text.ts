/** Text form of the review view (`--review-friendly`): scope, structural changes, largest changes, blocks. */
import type { ReviewView } from '../report/review.js';
import { fmt } from '../analysis/helpers.js';
import type { Palette } from './color.js';
import { renderText } from './text.js';

const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(1)}%`);

export function renderReviewText(view: ReviewView, palette: Palette): string {
  const lines = [view.scope];
  if (view.structural.length > 0) lines.push('structural and tie changes:', ...renderText(view.structural, { palette }).trimEnd().split('\n'));
  if (view.top.length > 0) {
    lines.push('largest changes (share of the total change):');
    for (const t of view.top)
      lines.push(
        `  ${palette.changed('~')} ${t.name}: share=${pct(t.share)}, rel_l2_change=${fmt(t.rel_l2_change)}, max_abs_diff=${fmt(t.max_abs_diff)}, cosine=${fmt(t.cosine_similarity)}`,
      );
  }
  if (view.blocks.length > 0) {
    lines.push('by block:');
    for (const b of view.blocks) lines.push(`  ${b.block}: ${b.changed.length} changed, share=${pct(b.share)}`);
  }
  if (view.identicalTensors !== null && view.identicalTensors > 0) lines.push(palette.dim(`${view.identicalTensors} identical tensors not shown`));
  if (view.metadata.length > 0) lines.push('metadata:', ...renderText(view.metadata, { palette }).trimEnd().split('\n'));
  return `${lines.join('\n')}\n`;
}
