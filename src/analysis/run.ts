/**
 * Runs analyses: loads the selected plug-ins, collects the diff of each pair plus the passes
 * they need, then lets each plug-in present its result. Kept apart from index.ts (which
 * re-exports constants of individual analyses) so that running one analysis loads only its module.
 */
import type { LibraryOptions } from '../library.js';
import { collect } from './collect.js';
import { loadAnalyses, neededPasses, type AnalysisName, type LoadedAnalysis } from './registry.js';
import type { AnalysisEntry, AnalysisView, Collected, PassName } from './types.js';

/** Every loaded analysis, in registry order: a pairwise one once per consecutive pair, a sequence one once. */
export function runAnalyses(c: Collected, loaded: LoadedAnalysis[]): AnalysisEntry[] {
  const out: AnalysisEntry[] = [];
  for (const { name, plugin } of loaded) {
    const { key, label } = plugin;
    const marker = plugin.marker === undefined ? {} : { marker: plugin.marker };
    const entry = (view: AnalysisView<Record<string, unknown>>, fails?: (d: Record<string, unknown>) => boolean): AnalysisEntry =>
      fails ? { name, key, label, ...marker, ...view, failed: fails(view.data) } : { name, key, label, ...marker, ...view };
    if (plugin.scope === 'pair') for (const p of c.pairs) out.push(entry(plugin.analyze(c, p), plugin.fails));
    else out.push(entry(plugin.analyze(c), plugin.fails));
  }
  return out;
}

/** Diffs each consecutive pair of files and runs the named analyses on what was read (plus passes a report asks for). */
export async function collectAndAnalyze(
  paths: string[],
  analyses: Iterable<AnalysisName>,
  options: LibraryOptions = {},
  extraPasses: Iterable<PassName> = [],
): Promise<{ collected: Collected; analyses: AnalysisEntry[] }> {
  const loaded = await loadAnalyses(analyses);
  const collected = await collect(paths, { ...options, needs: new Set([...neededPasses(loaded), ...extraPasses]) });
  return { collected, analyses: runAnalyses(collected, loaded) };
}
