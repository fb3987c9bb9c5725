/**
 * Inspections are kept column-wise and printed in pieces (src/report/inspect-rows.ts,
 * src/render/inspect-json.ts, src/render/stream-writer.ts). The streamed JSON must be byte
 * for byte what the one-string renderer prints for the same report as a plain list, the
 * text must not depend on whether rows or a list back the report, and the writer must wait
 * for its sink.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { inspectFile, type InspectReport } from '../src/library.js';
import { reportContract } from '../src/render/contract.js';
import { inspectJsonChunks } from '../src/render/inspect-json.js';
import { inspectTextChunks } from '../src/render/inspect.js';
import { renderJson } from '../src/render/json.js';
import { type OutputPiece, StreamWriter } from '../src/render/stream-writer.js';
import { inspectRows } from '../src/report/inspect-rows.js';
import { cli, requireBuild } from './helpers/cli.js';
import { tempDir, writeSafetensors, type TensorSpec } from './helpers/files.js';

vi.setConfig({ testTimeout: 120_000 });
const tmp = tempDir('diffai-inspect-stream-');
afterAll(() => tmp.cleanup());

const f32 = (values: number[]) => new Uint8Array(new Float32Array(values).buffer);

/** 3,000 tensors (more than one piece of output), with names and values that need care. */
function tensors(): TensorSpec[] {
  const out: TensorSpec[] = [
    { name: 'emb.weight', dtype: 'f32', shape: [2, 2], bytes: f32([1, 2, 3, 4]) },
    { name: 'odd\u001b[31m.é.\u{1F600}\n"q"', dtype: 'f32', shape: [3], bytes: f32([Number.NaN, Number.POSITIVE_INFINITY, -2]) },
    { name: 'empty.weight', dtype: 'f32', shape: [0], bytes: new Uint8Array(0) },
    { name: 'bn.running_mean', dtype: 'f32', shape: [2], bytes: f32([0.5, -0.5]) },
    { name: 'ints', dtype: 'i8', shape: [4], bytes: new Uint8Array(Int8Array.from([-3, 0, 7, 0]).buffer) },
    { name: 'cplx', dtype: 'c64', shape: [2], bytes: f32([1, -1, 2, 0.5]) },
  ];
  for (let i = 0; i < 3000; i++) out.push({ name: `layers.${i}.weight`, dtype: 'f32', shape: [4], bytes: f32([i, -i / 3, 0, 1e-3 * i]) });
  return out;
}

/** The same report with its tensors as a plain list (what every report was before rows). */
function asList(report: InspectReport): InspectReport {
  return { ...report, tensors: [...report.tensors] };
}

let file: string;
let report: InspectReport;
beforeAll(async () => {
  file = writeSafetensors(tmp.path('many.safetensors'), tensors(), { 'lm_head.weight': 'emb.weight', note: 'x\u0007y' });
  report = await inspectFile(file);
});

describe('a column-wise inspection', () => {
  it('streams JSON equal, byte for byte, to the one-string rendering of the same report as a list', () => {
    const pieces = [...inspectJsonChunks(report)];
    expect(pieces.length).toBeGreaterThan(3);
    const streamed = pieces.join('');
    const whole = renderJson(reportContract(asList(report)));
    expect(streamed).toBe(whole);
    expect(JSON.parse(streamed)).toEqual(JSON.parse(whole));
    // The rows behind it are what the report says: the tie, the non-finite values, the dropped name.
    const parsed = JSON.parse(streamed) as { tensors: Array<Record<string, unknown>> };
    expect(parsed.tensors.length).toBe(3007);
    expect(parsed.tensors.find((t) => t.name === 'lm_head.weight')).toMatchObject({ tied_to: 'emb.weight', mean: 2.5 });
    expect(parsed.tensors.find((t) => String(t.name).startsWith('odd'))).toMatchObject({ nan_count: 1, posinf_count: 1, min: -2, max: -2 });
  });

  it('streams JSON for empty, filtered and shape-only reports, with warnings, as the one-string renderer prints them', async () => {
    const filtered = await inspectFile(file, { path: 'nothing-matches' });
    expect(inspectRows(filtered).count).toBe(0);
    const shapes = await inspectFile(file, { shapeOnly: true });
    expect(JSON.parse([...inspectJsonChunks(shapes)].join('')).tensors[0]).toMatchObject({
      name: 'bn.running_mean',
      mean: null,
      nan_count: null,
      total_params: 2,
    });
    for (const r of [filtered, shapes, { ...report, warnings: ['w1', 'w\n2'] }, { ...filtered, metadata: {} }]) {
      expect([...inspectJsonChunks(r)].join('')).toBe(renderJson(reportContract(asList(r))));
    }
  });

  it('prints the same text from rows as from a list, control characters escaped, in several pieces', () => {
    const pieces = [...inspectTextChunks(report)];
    expect(pieces.length).toBeGreaterThan(3);
    const text = pieces.join('');
    expect(text).toBe([...inspectTextChunks(asList(report))].join(''));
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/: safetensors, 3007 tensors, /);
    expect(text).not.toContain('\u001b');
    expect(text).toContain('odd\\e[31m.é.\u{1F600}\\n"q"');
    expect(text).toContain('  lm_head.weight: dtype=f32, shape=[2, 2], params=4, mean=2.5000');
    expect(text).toContain('\n  __metadata__.note: "x\\\\x07y"\n'); // a leaf is shown quoted, its escape escaped
  });

  it('builds the tensor list for library users only when asked, equal to the rows', () => {
    const rows = inspectRows(report);
    const list = report.tensors;
    expect(list.length).toBe(rows.count);
    for (const i of [0, 1, 5, 3006]) expect(list[i]).toEqual(rows.tensor(i));
  });

  it('the CLI prints the streamed output: -o json equals the one-string rendering', async () => {
    requireBuild();
    const r = await cli(['inspect', file, '-o', 'json']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(renderJson(reportContract(asList(report))));
  });
});

describe('StreamWriter', () => {
  it('gathers small writes into pieces of about its size, keeps their order, and waits for its sink', async () => {
    const written: string[] = [];
    let release: (() => void) | undefined;
    const sink = (text: OutputPiece) =>
      new Promise<void>((resolve) => {
        written.push(text as string);
        release = resolve;
      });
    const out = new StreamWriter(sink, 10);
    await out.write('abc');
    await out.write('defg');
    expect(written).toEqual([]);
    let done = false;
    const pending = out.write('hijkl').then(() => {
      done = true;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(written).toEqual(['abcdefghijkl']);
    expect(done).toBe(false); // the sink has not finished: the producer waits
    release!();
    await pending;
    expect(done).toBe(true);
    const ending = out.write('m').then(() => out.end());
    await new Promise((r) => setTimeout(r, 20));
    release!();
    await ending;
    expect(written.join('')).toBe('abcdefghijklm');
  });
});
