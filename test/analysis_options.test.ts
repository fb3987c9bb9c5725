/**
 * The analyses' options (--rtol, --clusters, --rank-k, --input-shape …) are declared once, in
 * their registrations: the command line's table and parser and the library's checks read the
 * same declaration, so a value one accepts the other accepts, and each refuses with one line.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ANALYSES, ANALYSIS_NAMES, ANALYSIS_OPTIONS, type AnalysisRegistration } from '../src/analysis/registry.js';
import { analysisOptions } from '../src/cli/analysis-options.js';
import { optionsFor } from '../src/cli/options.js';
import { DiffaiError, analyzeFiles } from '../src/index.js';
import { ROOT } from './helpers/files.js';

const A = join(ROOT, 'fixtures', 'analysis', 'sgd_epoch1.safetensors');

/** What the command line says to bad values (the messages users and scripts have seen). */
const CLI_REFUSALS: Array<[flag: string, text: string, message: string]> = [
  ['rtol', '-1', '--rtol must be a non-negative number, got -1'],
  ['atol', 'abc', '--atol must be a non-negative number, got abc'],
  ['min-sqnr', 'loud', '--min-sqnr must be a number, got loud'],
  ['min-cosine', '1e400', '--min-cosine must be a number, got 1e400'],
  ['num-heads', 'three', '--num-heads must be a positive integer, got three'],
  ['num-kv-heads', '0', '--num-kv-heads must be a positive integer, got 0'],
  ['clusters', 'many', '--clusters must be an integer from 2 to 256, got many'],
  ['clusters', '257', '--clusters must be an integer from 2 to 256, got 257'],
  ['cluster-layer', '', '--cluster-layer needs a tensor or layer name'],
  ['rank-k', '2.5', '--rank-k must be a whole number from 1 to 256, got 2.5'],
  ['context-length', '0', '--context-length must be a positive integer, got "0"'],
  ['input-shape', '1,3,two,224', '--input-shape must be a positive integer, got "two"'],
  ['input-shape', '1,3,x,224', '--input-shape must be a positive integer, got ""'],
  ['input-shape', '1,1,1,1,1,1,1,1,1', '--input-shape has 9 dimensions; at most 8'],
  ['peak-tflops', '-1', '--peak-tflops must be a positive number, got -1'],
  ['bandwidth-gbs', '0', '--bandwidth-gbs must be a positive number, got 0'],
];

const camel = (flag: string) => flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());

describe('analysis options', () => {
  it('every option an analysis registers is in the command line table once, for diff only; options shared by analyses are one declaration', () => {
    const table = new Map(optionsFor('diff').map((o) => [o.name, o]));
    for (const o of ANALYSIS_OPTIONS) {
      expect(table.get(o.flag)?.describe, o.flag).toBe(o.describe);
      expect(optionsFor('inspect').some((x) => x.name === o.flag)).toBe(false);
    }
    expect(new Set(ANALYSIS_OPTIONS.map((o) => o.flag)).size).toBe(ANALYSIS_OPTIONS.length);
    const heads = (n: string) => (ANALYSES[n as keyof typeof ANALYSES] as AnalysisRegistration).options;
    expect(heads('attention')).toBe(heads('headImportance'));
    expect(heads('attention')).toBe(heads('attentionPatterns'));
    const owners = ANALYSIS_NAMES.filter((n) => (ANALYSES[n] as AnalysisRegistration).options?.some((o) => o.flag === 'rank-k'));
    expect(owners).toEqual(['lowRankDelta']);
  });

  it('command line: good values become the library options', () => {
    expect(
      analysisOptions({
        rtol: '0.01',
        minSqnr: '30',
        minCosine: '-0.5',
        numHeads: '4',
        clusters: '16',
        clusterLayer: 'wte',
        rankK: '8',
        contextLength: '2048',
        inputShape: '1x3×224,224',
        deviceProfile: 'cpu',
        bandwidthGbs: '50',
      }),
    ).toEqual({
      tolerance: { rtol: 0.01 },
      degradation: { minSqnrDb: 30, minCosine: -0.5 },
      numHeads: 4,
      clustering: { clusters: 16, layer: 'wte' },
      rankK: 8,
      inference: { contextLength: 2048, inputShape: [1, 3, 224, 224], deviceProfile: 'cpu', bandwidthGbs: 50 },
    });
    expect(analysisOptions({})).toEqual({});
  });

  for (const [flag, text, message] of CLI_REFUSALS) {
    it(`command line: --${flag} ${JSON.stringify(text)} is refused: ${message}`, () => {
      expect(() => analysisOptions({ [camel(flag)]: text })).toThrow(new DiffaiError(undefined, message));
    });
  }

  const LIBRARY_REFUSALS: Array<[options: Record<string, unknown>, message: RegExp]> = [
    [{ rankK: 300 }, /^analyzeFiles: options\.rankK must be a whole number from 1 to 256, got number 300$/],
    [{ numHeads: 2.5 }, /^analyzeFiles: options\.numHeads must be a positive integer, got number 2\.5$/],
    [{ tolerance: { rtol: -1 } }, /^analyzeFiles: options\.tolerance\.rtol must be a non-negative number, got number -1$/],
    [{ clustering: { clusters: 1 } }, /^analyzeFiles: options\.clustering\.clusters must be an integer from 2 to 256, got number 1$/],
    [{ clustering: { layer: '' } }, /^analyzeFiles: options\.clustering\.layer must be a tensor or layer name, got an empty string$/],
    [{ inference: { deviceProfile: 'tpu' } }, /^analyzeFiles: options\.inference\.deviceProfile must be one of a100, .*, got the string "tpu"$/],
    [{ inference: { inputShape: [1, 0] } }, /^analyzeFiles: options\.inference\.inputShape must be a list of at most 8 positive integers, got an array$/],
    [{ inference: 5 }, /^analyzeFiles: options\.inference must be an object, got number 5$/],
    [{ degradation: { minCosine: Number.NaN } }, /^analyzeFiles: options\.degradation\.minCosine must be a number, got number NaN$/],
  ];
  for (const [options, message] of LIBRARY_REFUSALS) {
    it(`library: ${JSON.stringify(options)} is refused before any file is read`, async () => {
      const err = await analyzeFiles([A, A], ['similarity'], options as never).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(DiffaiError);
      expect((err as Error).message).toMatch(message);
    });
  }

  it('library: the values the command line accepts are accepted', async () => {
    const options = analysisOptions({ rtol: '0', clusters: '2', rankK: '256', inputShape: '1,3,8,8', deviceProfile: 'h100', peakTflops: '1.5' });
    const { analyses } = await analyzeFiles([A, A], ['similarity'], options);
    expect(analyses).toHaveLength(1);
  });
});
