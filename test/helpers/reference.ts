/**
 * The original tool's reference files (read-only, in the project's shared/ folder, which
 * sits beside the repository for developers and CI). Found by DIFFAI_REFERENCE_FIXTURES, then
 * ../shared beside the repository, then /work/shared. A missing folder is a test failure with
 * a clear message, never a silent skip.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const CANDIDATES = [
  process.env.DIFFAI_REFERENCE_FIXTURES,
  join(import.meta.dirname, '..', '..', '..', 'shared', 'reference', 'diffai-fixtures'),
  '/work/shared/reference/diffai-fixtures',
].filter((p): p is string => p !== undefined && p !== '');

export const REFERENCE_FIXTURES: string =
  CANDIDATES.find((p) => existsSync(join(p, 'README.md'))) ?? join(import.meta.dirname, '..', '..', '..', 'shared', 'reference', 'diffai-fixtures');

export function referenceFile(name: string): string {
  const path = join(REFERENCE_FIXTURES, name);
  if (!existsSync(path)) throw new Error(`reference fixture ${name} not found under ${CANDIDATES.join(' or ')} (set DIFFAI_REFERENCE_FIXTURES)`);
  return path;
}
