/**
 * The original tool's reference files, used only by the conformance suite (`npm run
 * conformance`, test/conformance/): DIFFAI_REFERENCE_FIXTURES, else
 * ../shared/reference/diffai-fixtures beside the repository (where developers and CI keep
 * the read-only shared/ folder). `npm test` never needs them.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const REFERENCE_FIXTURES: string = resolve(
  process.env.DIFFAI_REFERENCE_FIXTURES || join(import.meta.dirname, '..', '..', '..', 'shared', 'reference', 'diffai-fixtures'),
);

/** True when the folder is there (its README.md names the expected outputs). */
export function haveReferenceFixtures(): boolean {
  return existsSync(join(REFERENCE_FIXTURES, 'README.md'));
}

export function referenceFile(name: string): string {
  const path = join(REFERENCE_FIXTURES, name);
  if (!existsSync(path)) throw new Error(`reference fixture ${name} not found under ${REFERENCE_FIXTURES} (set DIFFAI_REFERENCE_FIXTURES)`);
  return path;
}
