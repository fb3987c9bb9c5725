/**
 * Hostile pickles (issue 15, items 1, 2 and 7): resource budgets, the allow-list, zip records
 * aliasing data.pkl, and names that are object keys. Every input is built here at test time.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DiffaiError } from '../src/errors.js';
import { diffFiles, inspectFile } from '../src/library.js';
import { budgetFor, BufferInput, PickleError, PyDict, PyObject, unpickle, type PyValue } from '../src/formats/pytorch/unpickler.js';
import { isAllowedCall } from '../src/formats/pytorch/allowlist.js';
import { torchHooks } from '../src/formats/pytorch/torch.js';
import {
  CODE_RUNNING,
  P,
  call,
  dictList,
  global,
  long4,
  noneList,
  op,
  pickle,
  rebuiltTensor,
  repeated,
  stateDictPickle,
  str,
  torchZip,
} from './helpers/hostile_pickle.js';
import { buildZip } from './helpers/zip.js';

const TMP = mkdtempSync(join(tmpdir(), 'diffai-hostile-pickle-'));
const write = (name: string, data: Buffer): string => {
  const p = join(TMP, name);
  writeFileSync(p, data);
  return p;
};
const run = (pkl: Buffer, hooks = {}): PyValue => unpickle(new BufferInput(pkl), hooks).value;
const rejection = async (p: Promise<unknown>): Promise<DiffaiError> => {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(DiffaiError);
    return e as DiffaiError;
  }
  throw new Error('expected a rejection');
};

describe('pickle resource budgets', () => {
  it('budgets scale with the pickle size under absolute ceilings', () => {
    const small = budgetFor(1000);
    const big = budgetFor(80_000_000);
    expect(small.maxObjects).toBe(250_000 + 125);
    expect(big.maxObjects).toBe(4_000_000);
    expect(big.maxPushes).toBe(10_000_000);
    expect(small.maxMemoEntries).toBe(small.maxObjects);
  });

  it('refuses a pickle that creates far more objects than its size pays for', () => {
    const pkl = repeated(op.EMPTY_DICT, 900_000);
    const limit = budgetFor(pkl.length).maxObjects;
    expect(() => run(pkl)).toThrow(new RegExp(`creates more than ${limit} objects`));
    expect(() => run(dictList(900_000))).toThrow(/creates more than \d+ objects/);
  });

  it('refuses too many pushes (a list of millions of Nones)', () => {
    expect(() => run(noneList(1_500_000))).toThrow(/stack exceeds 1000000 values/);
    // one at a time into a list: the stack stays small, the push budget ends it
    const pkl = P(op.PROTO, 2, op.EMPTY_LIST, Buffer.alloc(2 * 5_000_000, Buffer.from([op.NONE, op.APPEND])), op.STOP);
    expect(() => run(pkl)).toThrow(new RegExp(`pushes more than ${budgetFor(pkl.length).maxPushes} values`));
    // a list well inside the budget still loads
    expect((run(noneList(100_000)) as null[]).length).toBe(100_000);
  });

  it('refuses memo floods', () => {
    const pkl = repeated(op.MEMOIZE, 1_000_000, P(op.NONE));
    expect(() => run(pkl)).toThrow(/memo exceeds 1024 entries, more than the objects it created/);
    // a pickle memoizing every object it creates (as CPython's pickler does) is fine
    const n = 200_000;
    const v = run(P(op.PROTO, 4, op.EMPTY_LIST, op.MEMOIZE, op.MARK, Buffer.alloc(2 * n, Buffer.from([op.EMPTY_TUPLE, op.MEMOIZE])), op.APPENDS, op.STOP));
    expect((v as unknown[]).length).toBe(n);
  });

  it('caps integer sizes (LONG4, text INT/LONG) and decodes the allowed ones exactly', () => {
    expect(() => run(long4(32 << 20))).toThrow(/long integer of 33554432 bytes exceeds the 1024-byte limit/);
    expect(() => run(long4(1025))).toThrow(/1024-byte limit/);
    // 1024 bytes of 0x11: the value is sum 0x11 * 256^i, positive
    const v = run(long4(1024)) as bigint;
    let ref = 0n;
    for (let i = 0; i < 1024; i++) ref += 0x11n << BigInt(8 * i);
    expect(v).toBe(ref);
    expect(() => run(P(op.PROTO, 2, 'L', '9'.repeat(5000), 'L\n', op.STOP))).toThrow(/digits exceeds/);
  });

  it('a real-shaped state_dict with many tensors stays inside the budget', () => {
    const names = Array.from({ length: 20_000 }, (_, i) => `layers.${i}.weight`);
    const ctx = { storages: new Map(), warnings: [] };
    const v = run(stateDictPickle(names, 4), torchHooks(ctx));
    expect(v).toBeInstanceOf(PyDict);
    expect((v as PyDict).map.size).toBe(20_000);
    expect(ctx.storages.size).toBe(20_000);
  });

  it('a small deflated data.pkl asking for millions of objects is refused by the reader, naming the file', async () => {
    for (const [name, pkl, problem] of [
      ['dicts.pt', repeated(op.EMPTY_DICT, 20_000_000), /stack exceeds \d+ values/],
      [
        'dict_list.pt',
        P(op.PROTO, 2, op.EMPTY_LIST, Buffer.alloc(2 * 5_000_000, Buffer.from([op.EMPTY_DICT, op.APPEND])), op.STOP),
        /creates more than \d+ objects/,
      ],
      ['nones.pt', noneList(40_000_000), /stack exceeds \d+ values/],
      [
        'appended_nones.pt',
        P(op.PROTO, 2, op.EMPTY_LIST, Buffer.alloc(2 * 20_000_000, Buffer.from([op.NONE, op.APPEND])), op.STOP),
        /pushes more than \d+ values/,
      ],
      ['memo.pt', repeated(op.MEMOIZE, 20_000_000, P(op.NONE)), /memo exceeds \d+ entries/],
      ['long4.pt', long4(32 << 20), /1024-byte limit/],
    ] as const) {
      const zip = torchZip(pkl);
      expect(zip.length).toBeLessThan(200_000); // tiny on disk
      const path = write(name, zip);
      const err = await rejection(inspectFile(path));
      expect(err.file).toBe(path);
      expect(err.message).toMatch(problem);
      expect(err.message).not.toMatch(/\n/);
    }
  }, 120_000);
});

describe('pickle allow-list', () => {
  for (const [name, { pkl, names }] of Object.entries(CODE_RUNNING)) {
    it(`refuses ${name} (${names})`, async () => {
      expect(() => run(pkl)).toThrow(PickleError);
      expect(() => run(pkl)).toThrow(names);
      const path = write(`${name}.pt`, torchZip(pkl));
      const err = await rejection(inspectFile(path));
      expect(err.message).toContain(names);
      expect(err.message).toMatch(/refusing to load/);
    });
  }

  it('the list holds torch rebuild functions and containers, not loaders', () => {
    for (const [m, n] of [
      ['torch._utils', '_rebuild_tensor_v2'],
      ['torch._utils', '_rebuild_qtensor'],
      ['collections', 'OrderedDict'],
      ['torch', 'FloatStorage'],
      ['torch', 'Size'],
      ['numpy.core.multiarray', '_reconstruct'],
      ['builtins', 'set'],
    ]) {
      expect(isAllowedCall(m!, n!), `${m}.${n}`).toBe(true);
    }
    for (const [m, n] of [
      ['torch', 'load'],
      ['numpy', 'load'],
      ['builtins', 'getattr'],
      ['argparse', 'Namespace'],
      ['mylib', 'Net'],
      ['torch._utils', '_import_dotted_name'],
      ['torch', 'FloatStorage.__init__'],
    ]) {
      expect(isAllowedCall(m!, n!), `${m}.${n}`).toBe(false);
    }
  });

  it('REDUCE of an unlisted class is refused; NEWOBJ of it is an inert leaf with a warning', async () => {
    expect(() => run(pickle(call('mylib', 'Thing')))).toThrow(/calls mylib\.Thing, which is not on the allow-list/);
    const seen: string[] = [];
    const v = run(pickle(P(global('mylib', 'Thing'), op.EMPTY_TUPLE, op.NEWOBJ, op.EMPTY_DICT, str('x'), op.BININT1, 1, op.SETITEM, op.BUILD)), {
      unknownClass: (q: string) => seen.push(q),
    });
    expect(v).toBeInstanceOf(PyObject);
    expect((v as PyObject).className).toBe('mylib.Thing');
    expect(seen).toEqual(['mylib.Thing']);

    // inside a real checkpoint: the tensor loads, the object is reported by name
    const pkl = pickle(
      P(op.EMPTY_DICT, str('cfg'), global('mylib', 'Config'), op.EMPTY_TUPLE, op.NEWOBJ, op.SETITEM, str('w'), rebuiltTensor('0', 4), op.SETITEM),
    );
    const path = write('unknown_class.pt', torchZip(pkl, { 0: Buffer.from(new Float32Array([1, 2, 3, 4]).buffer) }));
    const rep = await inspectFile(path);
    expect(rep.tensors.map((t) => t.name)).toEqual(['w']);
    expect(rep.warnings.join('\n')).toMatch(/mylib\.Config, which is not on the allow-list; kept as inert leaves/);
  });

  it('a NEWOBJ or REDUCE on a computed class is refused', () => {
    const computed = P(global('torch', 'Size'), op.EMPTY_TUPLE, op.REDUCE); // a value, not a class
    expect(() => run(pickle(P(computed, op.EMPTY_TUPLE, op.NEWOBJ)))).toThrow(/computed value/);
    expect(() => run(pickle(P(computed, op.EMPTY_TUPLE, op.REDUCE)))).toThrow(/computed value/);
  });

  it('a zip entry aliasing data.pkl is not read as a storage', async () => {
    const pkl = pickle(P(op.EMPTY_DICT, str('w'), rebuiltTensor('0', 4), op.SETITEM));
    const zip = buildZip([
      { name: 'archive/data.pkl', data: pkl },
      { name: 'archive/data/0', data: Buffer.alloc(0), aliasOf: 'archive/data.pkl' },
      { name: 'archive/version', data: Buffer.from('3\n') },
    ]);
    const path = write('alias.pt', zip);
    const err = await rejection(inspectFile(path));
    // Refused by the zip reader's general rule (no two entries share bytes) before the pickle is read.
    expect(err.message).toMatch(/zip: entries "archive\/data\.pkl" and "archive\/data\/0" overlap/);
  });
});

describe('names that are object keys', () => {
  it('a checkpoint leaf and tensor named __proto__ / constructor diff as changed', async () => {
    const ckpt = (n: number, w: number) =>
      torchZip(
        pickle(
          P(op.EMPTY_DICT, op.MARK, str('__proto__'), op.BININT1, n, str('constructor'), op.BININT1, n, str('__proto__.w'), rebuiltTensor('0', 4), op.SETITEMS),
        ),
        { 0: Buffer.from(new Float32Array([w, 2, 3, 4]).buffer) },
      );
    const a = write('proto_a.pt', ckpt(1, 1));
    const b = write('proto_b.pt', ckpt(2, 5));
    const rep = await diffFiles(a, b);
    const byName = new Map(rep.results.map((r) => [r.name, r]));
    expect(byName.get('__proto__')).toMatchObject({ kind: 'Modified', a: 1, b: 2 });
    expect(byName.get('constructor')).toMatchObject({ kind: 'Modified', a: 1, b: 2 });
    expect(byName.get('__proto__.w')?.kind).toBe('TensorStatsChanged');
    expect(Object.keys(rep.a.leaves).sort()).toEqual(['__proto__', 'constructor']);
  });

  it('a .npz entry named __proto__ diffs as changed', async () => {
    const npz = (x: number) =>
      buildZip([
        { name: '__proto__.npy', data: npy([x, 2]) },
        { name: 'constructor.npy', data: npy([x, 3]) },
      ]);
    const a = write('proto_a.npz', npz(1));
    const b = write('proto_b.npz', npz(7));
    const rep = await diffFiles(a, b);
    const names = rep.results
      .filter((r) => r.kind === 'TensorStatsChanged')
      .map((r) => r.name)
      .sort();
    expect(names).toEqual(['__proto__', 'constructor']);
  });
});

/** A little-endian float64 .npy (format 1.0). */
function npy(values: number[]): Buffer {
  let header = `{'descr': '<f8', 'fortran_order': False, 'shape': (${values.length},), }`;
  while ((10 + header.length + 1) % 64 !== 0) header += ' ';
  header += '\n';
  const h = Buffer.alloc(10);
  Buffer.from('\x93NUMPY', 'latin1').copy(h);
  h[6] = 1;
  h[7] = 0;
  h.writeUInt16LE(header.length, 8);
  return Buffer.concat([h, Buffer.from(header, 'latin1'), Buffer.from(new Float64Array(values).buffer)]);
}
