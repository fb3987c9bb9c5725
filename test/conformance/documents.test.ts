/**
 * The original's one published result: `diffai simple_base simple_modified` (.safetensors
 * and .pt) prints, byte for byte, the lines in the reference folder's README (taken from the
 * original documentation); and every original .pt holds the same tensors as its
 * .safetensors conversion. Run by `npm run conformance`.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, requireBuild } from '../helpers/cli.js';
import { REFERENCE_FIXTURES as DIR } from '../helpers/reference.js';

beforeAll(requireBuild);

describe.concurrent("the original's published output", () => {
  const readme = readFileSync(join(DIR, 'README.md'), 'utf8');
  const block = readme.split('```').find((part) => part.includes('~ fc1.bias'));
  const expected = (block ?? '')
    .split('\n')
    .filter((line) => line.startsWith('  ~ '))
    .map((l) => `${l}\n`)
    .join('');

  it('the README has the expected block', () => expect(expected.split('\n').length).toBe(7));

  for (const ext of ['safetensors', 'pt']) {
    it(`simple_base.${ext} vs simple_modified.${ext}: the documented lines, exit 0`, async () => {
      const r = await cli([join(DIR, `simple_base.${ext}`), join(DIR, `simple_modified.${ext}`)], { NO_COLOR: '1' });
      expect([r.stdout, r.stderr, r.status]).toEqual([expected, '', 0]);
    });
  }

  const twins = readdirSync(DIR).filter((f) => f.endsWith('.pt') && existsSync(join(DIR, f.replace(/\.pt$/, '.safetensors'))));
  it('finds the .pt/.safetensors twins', () => expect(twins.length).toBeGreaterThanOrEqual(10));
  for (const pt of twins) {
    const st = pt.replace(/\.pt$/, '.safetensors');
    it(`${pt} = ${st}`, async () => {
      const r = await cli([join(DIR, pt), join(DIR, st), '--exit-code']);
      expect([r.stdout, r.status]).toEqual(['No differences found.\n', 0]);
    });
  }
});
