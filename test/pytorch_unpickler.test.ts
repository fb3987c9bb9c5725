/** The bounded, safe unpickler: correctness on the points where pickleparser fails, and limits. */
import { describe, expect, it } from 'vitest';
import { BufferInput, PickleError, PyDict, PyObject, forbiddenGlobal, unpickle, type PyValue } from '../src/formats/pytorch/unpickler.js';
import { flatten } from '../src/formats/pytorch/flatten.js';

const run = (bytes: number[] | Buffer, hooks = {}, limits = {}): PyValue =>
  unpickle(new BufferInput(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes)), hooks, limits).value;
const str = (s: string): Buffer => {
  const b = Buffer.from(s, 'utf8');
  const h = Buffer.alloc(5);
  h[0] = 0x58;
  h.writeUInt32LE(b.length, 1);
  return Buffer.concat([h, b]);
};
const P = (...parts: (Buffer | number[] | string)[]): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));

describe('unpickler', () => {
  it('decodes LONG1 signed and long (legacy magic number)', () => {
    expect(run([0x80, 2, 0x8a, 1, 0xff, 0x2e])).toBe(-1);
    expect(run([0x80, 2, 0x8a, 2, 0x00, 0x80, 0x2e])).toBe(-32768);
    expect(run([0x80, 2, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e])).toBe(0x1950a86a20f9469cfc6cn);
    expect(run([0x80, 2, 0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x2e])).toBe(-(2n ** 71n));
    expect(run(P('I-42\n.'))).toBe(-42);
    expect(run(P('L123456789012345678901234567890L\n.'))).toBe(123456789012345678901234567890n);
  });

  it('keeps __proto__ keys as data and BUILD state out of dict items', () => {
    const v = run(P([0x80, 2, 0x7d], str('__proto__'), [0x4b, 1, 0x73], [0x7d], str('_metadata'), [0x4b, 2, 0x73, 0x62, 0x2e]));
    expect(v).toBeInstanceOf(PyDict);
    const d = v as PyDict;
    expect([...d.map.keys()]).toEqual(['__proto__']);
    expect(d.attrs).toBeInstanceOf(PyDict);
    const flat = flatten(v);
    expect(Object.keys(flat.leaves)).toEqual(['__proto__']);
    // biome-ignore lint/suspicious/noProto: the test is that a leaf named __proto__ is an own entry
    expect(flat.leaves['__proto__']).toBe(1);
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  });

  it('APPENDS with a huge batch does not overflow the stack', () => {
    const n = 300_000;
    const body = Buffer.alloc(n * 2);
    for (let i = 0; i < n; i++) {
      body[2 * i] = 0x4b;
      body[2 * i + 1] = i & 0xff;
    }
    const v = run(P([0x80, 2, 0x5d, 0x28], body, [0x65, 0x2e])) as number[];
    expect(v.length).toBe(n);
  });

  it('protocol 0 text pickles and memo', () => {
    const v = run(P("(lp0\nI1\naF2.5\naS'ab\\x41'\np1\nag1\na.")) as PyValue[];
    expect(v).toEqual([1, 2.5, 'abA', 'abA']);
  });

  it('refuses dangerous globals by name, keeps others inert', () => {
    for (const [m, n] of [
      ['os', 'system'],
      ['posix', 'system'],
      ['nt', 'system'],
      ['builtins', 'eval'],
      ['__builtin__', 'exec'],
      ['subprocess', 'Popen'],
      ['os.path', 'join'],
      ['builtins', 'getattr'],
      ['torch.hub', 'load'],
    ]) {
      expect(forbiddenGlobal(m!, n!), `${m}.${n}`).toBeDefined();
      expect(() => run(P([0x80, 2], `c${m}\n${n}\n`, [0x29, 0x52, 0x2e]))).toThrow(new RegExp(`${m!.replace('.', '\\.')}\\.${n}`));
    }
    for (const [m, n] of [
      ['collections', 'OrderedDict'],
      ['torch', 'FloatStorage'],
      ['argparse', 'Namespace'],
      ['mylib', 'Thing'],
    ]) {
      expect(forbiddenGlobal(m!, n!)).toBeUndefined();
    }
    const v = run(P([0x80, 2], 'cmylib\nThing\n', [0x29, 0x81, 0x2e]));
    expect(v).toBeInstanceOf(PyObject);
    expect((v as PyObject).className).toBe('mylib.Thing');
  });

  it('enforces limits', () => {
    expect(() => run(P([0x80, 2, 0x4e, 0x72, 0xff, 0xff, 0xff, 0x7f, 0x2e]))).toThrow(/memo index/);
    expect(() => run(P([0x80, 2, 0x68, 5, 0x2e]))).toThrow(/memo index 5 is not defined/);
    expect(() => run(P([0x80, 2], Buffer.alloc(20000, 0x28)))).toThrow(/nesting/);
    expect(() => run(P([0x80, 2, 0x58, 0xff, 0xff, 0xff, 0xff, 0x2e]))).toThrow(PickleError);
    expect(() => run(P([0x80, 2, 0x8e, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x2e]))).toThrow(/out of range|runs past/);
    expect(() => run(P([0x80, 2, 0x4e, 0x32, 0x32, 0x32, 0x2e]), {}, { maxOps: 3 })).toThrow(/operations/);
    expect(() => run(P([0x80, 2, 0x30, 0x2e]))).toThrow(/underflow/);
    expect(() => run(P([0x80, 2, 0x97, 0x2e]))).toThrow(/out-of-band/);
    expect(() => run(P([0x80, 2, 0x82, 1, 0x2e]))).toThrow(/extension/);
    expect(() => run(P([0x80, 2, 0x4e]))).toThrow(/end of pickle/);
  });

  it('self-referencing lists do not hang the flattener', () => {
    // l = []; l.append(l)
    const v = run(P([0x80, 2, 0x5d, 0x71, 0, 0x68, 0, 0x61, 0x2e]));
    const f = flatten(v);
    expect(f.warnings.join()).toMatch(/self-referencing/);
  });
});
