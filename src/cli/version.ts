/** The tool's version, from the package.json above this module (in src/ or dist/src/). */
import { readFileSync } from 'node:fs';

let cached: string | undefined;

export function toolVersion(): string {
  if (cached !== undefined) return cached;
  for (const up of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'diffai' && typeof pkg.version === 'string') return (cached = pkg.version);
    } catch {
      // Not at this level; try the next.
    }
  }
  return (cached = 'unknown');
}
