/**
 * TensorFlow frozen graphs: every fixture's Const tensors against the generator's float64
 * statistics (tensor_content and each packed typed field, the single-value fill rule, the
 * function library, a SavedModel's meta graph); the digits MLP as .pb and .safetensors diffs
 * as identical; malformed graphs fail with one line.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tensorflowReader } from '../src/formats/tensorflow/reader.js';
import { diffFiles } from '../src/index.js';
import { expectDescribeFailure, itFailsCleanly } from './helpers/failure.js';
import { itMatchesStatsReference, type RefTensor } from './helpers/proto_reference.js';
import { len, str, vint } from './helpers/protobuf_writer.js';

const DIR = join(__dirname, '..', 'fixtures', 'tensorflow');
const REF = JSON.parse(readFileSync(join(DIR, 'reference.json'), 'utf8')) as Record<string, Record<string, RefTensor>>;
const tmp = mkdtempSync(join(tmpdir(), 'diffai-tf-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('TensorFlow fixtures against the generator reference', () => {
  itMatchesStatsReference(DIR, REF, 'tensorflow');
});

describe('TensorFlow graphs', () => {
  it('the digits MLP as a frozen graph and as safetensors diffs as identical', async () => {
    const { results } = await diffFiles(join(DIR, 'digits_mlp.pb'), join(__dirname, '..', 'fixtures', 'core', 'digits_mlp.safetensors'), { threads: 1 });
    expect(results).toEqual([]);
  });

  it('a single typed value fills the tensor, as TensorFlow reads it', async () => {
    const d = await tensorflowReader.describe(join(DIR, 'dtypes.pb'));
    const filled = d.tensors.find((t) => t.name === 'filled')!;
    expect(filled.numel).toBe(20);
    expect(filled.view?.strides).toEqual([0, 0]);
  });

  it('says that the variables of a SavedModel are not read', async () => {
    const d = await tensorflowReader.describe(join(DIR, 'saved_model.pb'));
    expect(d.warnings.some((w) => w.includes('variables'))).toBe(true);
  });
});

const constNode = (name: string, tensor: number[]): number[] =>
  len(1, [...str(1, name), ...str(2, 'Const'), ...len(5, [...str(1, 'value'), ...len(2, len(8, tensor))])]);
const shape = (dims: number[]): number[] =>
  len(
    2,
    dims.flatMap((d) => len(2, vint(1, d))),
  );
function write(name: string, bytes: number[]): string {
  const path = join(tmp, name);
  writeFileSync(path, Buffer.from(bytes));
  return path;
}

describe('malformed TensorFlow graphs fail with one line', () => {
  const cases: Array<[string, number[], string]> = [
    ['content shorter than the shape', constNode('w', [...vint(1, 1), ...shape([4]), ...len(4, [0, 0, 0, 0])]), 'tensor_content holds 4 bytes'],
    ['partially repeated values', constNode('w', [...vint(1, 1), ...shape([4]), ...len(5, [0, 0, 0, 0, 0, 0, 0, 0])]), '2 values for 4 elements'],
    ['a quantized type', constNode('w', [...vint(1, 11), ...shape([1]), ...len(4, [0])]), 'DT_QINT8'],
    ['a negative dimension', constNode('w', [...vint(1, 1), ...shape([-1]), ...len(4, [])]), 'bad dimension'],
    ['no values', constNode('w', [...vint(1, 1), ...shape([3])]), 'no values'],
    ['no nodes', len(4, vint(1, 1)), 'no nodes'],
  ];
  for (const [what, bytes, fragment] of cases) {
    it(what, async () => {
      await expectDescribeFailure(tensorflowReader, write(`${what.replace(/\W+/g, '_')}.pb`, bytes), fragment);
    });
  }
});

describe('corrupted TensorFlow graphs fail cleanly', () => {
  itFailsCleanly(DIR, [
    ['dtypes.pb', tensorflowReader],
    ['saved_model.pb', tensorflowReader],
  ]);
});
