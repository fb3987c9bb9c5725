/**
 * `npm run conformance` without the original tool's files (a fresh clone elsewhere): it says
 * so plainly, runs nothing and exits 1. (With them, it runs test/conformance/.)
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir } from './helpers/files.js';

describe('npm run conformance', () => {
  it('names the missing folder and exits 1 without running vitest', () => {
    const tmp = tempDir('diffai-noref-');
    try {
      const missing = join(tmp.dir, 'diffai-fixtures');
      const r = spawnSync(process.execPath, [join(ROOT, 'test', 'conformance', 'run.js')], {
        encoding: 'utf8',
        env: { ...process.env, DIFFAI_REFERENCE_FIXTURES: missing },
      });
      expect(r.status).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(
        `conformance: the original tool's reference files are not at ${missing}; nothing was checked.\n` +
          'conformance: put shared/reference/diffai-fixtures beside the repository or set DIFFAI_REFERENCE_FIXTURES.\n',
      );
    } finally {
      tmp.cleanup();
    }
  });
});
