/**
 * Tensor names kept as UTF-8 bytes in one table (formats/name-table.ts) and ordered, joined
 * and looked up as bytes: every name, its order and every lookup must be what the strings
 * give. The reference is independent of the reader: JSON.parse of each name's JSON text (or
 * of the whole header), sorted with compareNames on strings, and Sets of strings.
 */
import { writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { DiffaiError } from '../src/errors.js';
import { NameTable } from '../src/formats/name-table.js';
import { describeModel } from '../src/formats/registry.js';
import { tensorColumns } from '../src/formats/table.js';
import { diffFiles } from '../src/library.js';
import { buildModelView } from '../src/model/index.js';
import { compareNameBytes, compareNames } from '../src/names.js';
import { UTF8_WINDOW, termSafe, utf8TermSafe } from '../src/terminal.js';
import { tempDir } from './helpers/files.js';

const tmp = tempDir('diffai-names-');

/** A table of one name. */
function single(name: string): NameTable {
  const t = new NameTable();
  t.add(name);
  return t;
}
afterAll(() => tmp.cleanup());

/**
 * A safetensors file whose header members are given as raw JSON key bytes (escapes and all),
 * one u8 element each, compact or spaced as a pretty-printer writes (`spaced`); the header's
 * bytes are returned too, for the reference.
 */
function fileWithKeys(name: string, keys: Array<string | Uint8Array>, spaced = false): { path: string; header: Buffer } {
  const sep = spaced ? ' ' : '';
  const parts: Buffer[] = [Buffer.from(`{${sep}"__metadata__":${sep}{"format":${sep}"pt"}`)];
  keys.forEach((key, i) => {
    const raw = typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.from(key);
    parts.push(
      Buffer.from(`,${sep}"`),
      raw,
      Buffer.from(`":${sep}{"dtype":${sep}"U8",${sep}"shape":${sep}[1],${sep}"data_offsets":${sep}[${i},${sep}${i + 1}]}`),
    );
  });
  parts.push(Buffer.from('}'));
  let header = Buffer.concat(parts);
  header = Buffer.concat([header, Buffer.alloc((8 - (header.length % 8)) % 8, 0x20)]);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(header.length));
  const path = tmp.path(name);
  writeFileSync(path, Buffer.concat([length, header, Buffer.from(keys.map((_, i) => i))]));
  return { path, header };
}

/** The tensor names of a header by JSON.parse (object keys keep insertion order except integer-like keys, which no test uses). */
function parsedNames(header: Buffer): string[] {
  return Object.keys(JSON.parse(header.toString('utf8')) as object).filter((k) => k !== '__metadata__');
}

/**
 * The file's tensor names are `reference` in file order and sorted by compareNames in its
 * model view; every name is found by lookup (binary search or index, and the view's find),
 * none of `absent` is.
 */
async function expectNamesOf(path: string, reference: string[], absent: string[]): Promise<void> {
  const desc = await describeModel(path);
  const cols = tensorColumns(desc);
  expect(Array.from({ length: cols.count }, (_, i) => cols.name(i))).toEqual(reference);
  const rows = buildModelView(desc).rows;
  expect(Array.from({ length: rows.size }, (_, k) => rows.name(k))).toEqual([...reference].sort(compareNames));
  for (const [i, n] of reference.entries()) expect(cols.indexOf(n), JSON.stringify(n)).toBe(i);
  for (const n of reference) expect(rows.name(rows.find(n))).toBe(n);
  for (const n of absent) expect(cols.indexOf(n)).toBe(-1);
}

// Escapes, quotes, the empty name, digits, and characters whose UTF-8 byte order differs from
// UTF-16 code-unit order (astral, raw and as an escaped pair, against U+E000..U+FFFF).
const WELL_FORMED_KEYS = [
  '\\u0041bc',
  'q\\"uote',
  'back\\\\slash\\/',
  '',
  'é.1',
  'é.10',
  'é.9',
  '\u{1F600}.w',
  '\\ud83d\\ude01.x',
  '\uFF21.w',
  '\\uE000',
  '\uE000a',
  '\u{10FFFF}',
  'layers.2.weight',
  'layers.10.weight',
  'layers.02.weight',
  'esc\\u001b[31m',
  'tab\\there',
  'x9',
  'x10',
  'x\u{1F600}',
  'x\uFFFF',
  'Z',
  'a',
];

describe('names as bytes', () => {
  it('compareNameBytes orders UTF-8 bytes exactly as compareNames orders the strings (astral before U+E000..U+FFFF)', () => {
    const parts = ['0', '1', '9', '00', '01', '10', 'a', 'A', '.', 'é', '\u0800', '\uE000', '\uFF21', '\uFFFF', '\u{1F600}', '\u{10000}', '\u{10FFFF}'];
    let seed = 11;
    const pick = (n: number) => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed % n;
    };
    const name = () => Array.from({ length: pick(6) }, () => parts[pick(parts.length)]).join('');
    const sign = (x: string, y: string) => {
      const [bx, by] = [Buffer.from(x, 'utf8'), Buffer.from(y, 'utf8')];
      return Math.sign(compareNameBytes(bx, 0, bx.length, by, 0, by.length));
    };
    // The case that tells code units from code points: U+1F600 is D83D DE00, below U+FF21.
    expect(sign('\u{1F600}', '\uFF21')).toBe(-1);
    expect(sign('a\uE000', 'a\u{10000}')).toBe(1);
    for (let t = 0; t < 30_000; t++) {
      const [x, y] = [name(), name()];
      expect(sign(x, y), JSON.stringify([x, y])).toBe(Math.sign(compareNames(x, y)));
    }
  });

  for (const spaced of [false, true]) {
    it(`a header's names read back exactly as JSON.parse gives them, sorted as the strings sort (${spaced ? 'spaced: token by token' : 'compact: one byte pass'})`, async () => {
      const { path, header } = fileWithKeys(`well-formed-${spaced}.safetensors`, WELL_FORMED_KEYS, spaced);
      const reference = parsedNames(header);
      expect(reference).toHaveLength(WELL_FORMED_KEYS.length);
      await expectNamesOf(path, reference, ['abc', 'A', 'é', 'layers.2', '\uFFFD', '\ud83d', 'Z ']);
    });
  }

  it('a member read in one byte pass describes its tensor exactly as the token-by-token path does (dtypes, shapes, offsets)', async () => {
    const entries: Array<[string, string, number[], number]> = [
      ['a', 'F32', [2, 3], 4],
      ['b', 'BF16', [], 2],
      ['c', 'I8', [0, 5], 1],
      ['d', 'F64', [1, 1, 1, 1, 7], 8],
      ['e', 'U8', [123456], 1],
      ['f', 'F8_E4M3', [3], 1],
      ['g', 'BOOL', [4], 1],
      ['h', 'C64', [2], 8],
    ];
    const described = await Promise.all(
      ['', ' '].map((sep) => {
        let offset = 0;
        const members = entries.map(([name, dtype, shape, size]) => {
          const bytes = shape.reduce((x, y) => x * y, 1) * size;
          const member = `"${name}":${sep}{"dtype":${sep}"${dtype}",${sep}"shape":${sep}[${shape.join(`,${sep}`)}],${sep}"data_offsets":${sep}[${offset},${sep}${offset + bytes}]}`;
          offset += bytes;
          return member;
        });
        let header = Buffer.from(`{${members.join(`,${sep}`)}}`);
        header = Buffer.concat([header, Buffer.alloc((8 - (header.length % 8)) % 8, 0x20)]);
        const length = Buffer.alloc(8);
        length.writeBigUInt64LE(BigInt(header.length));
        const path = tmp.path(`dtypes-${sep.length}.safetensors`);
        writeFileSync(path, Buffer.concat([length, header, Buffer.alloc(offset)]));
        return describeModel(path);
      }),
    );
    // Offsets relative to the data (the two headers differ in length).
    const plain = (d: (typeof described)[number]) =>
      d.tensors.map((t) => ({
        ...t,
        source: { ...t.source, path: '', offset: (t.source as { offset: number }).offset - (d.tensors[0]!.source as { offset: number }).offset },
      }));
    expect(plain(described[0]!)).toEqual(plain(described[1]!));
    expect(described[0]!.tensors.map((t) => [t.name, t.dtype, t.shape, t.numel])).toEqual(
      entries.map(([name, dtype, shape]) => [name, dtype.toLowerCase(), shape, shape.reduce((x, y) => x * y, 1)]),
    );
  });

  it('a lone surrogate (\\ud800) is a name of its own, not U+FFFD; raw bytes that are not UTF-8 read as U+FFFD, as JSON.parse of the text', async () => {
    const keys: Array<string | Uint8Array> = ['\\ud800', '\\ufffd', 'b\\udc00', 'b', Uint8Array.from([0x63, 0xff, 0x64]), '\u{1F600}', '\\uFF21', 'a\\ud83d'];
    const { path, header } = fileWithKeys('surrogates.safetensors', keys);
    const reference = parsedNames(header);
    expect(reference).toContain('\ud800');
    expect(reference).toContain('c\uFFFDd');
    await expectNamesOf(path, reference, ['\ud801', 'b\udc01']);
  });

  it('a name given twice is refused however it is spelled (escaped, raw, invalid UTF-8 against U+FFFD); names that only look alike are not', async () => {
    const cases: Array<[Array<string | Uint8Array>, string | undefined]> = [
      [['b', 'a', '\\u0061'], 'a'],
      [['é', 'z', '\\u00e9'], 'é'],
      [['x\\ud800', 'y', 'x\\ud800'], 'x\ud800'],
      [[Uint8Array.from([0xff]), 'q', '\\ufffd'], '\uFFFD'],
      [['', 'k', ''], ''],
      [['\\ud800\\udc00', 'm', '\u{10000}'], '\u{10000}'],
      [['\\ud800', '\\ufffd', '\\udc00', '\\ud800\\udc00', '\u{10000}x'], undefined],
    ];
    for (const [i, [keys, repeated]] of cases.entries()) {
      const { path, header } = fileWithKeys(`twice-${i}.safetensors`, keys);
      // The reference: distinct strings by a Set of JSON.parse's names, one by one.
      const names = keys.map((k) => (typeof k === 'string' ? (JSON.parse(`"${k}"`) as string) : Buffer.from(k).toString('utf8')));
      expect(new Set(names).size < names.length).toBe(repeated !== undefined);
      const described = describeModel(path);
      if (repeated === undefined) {
        expect(parsedNames(header)).toEqual(names);
        const cols = tensorColumns(await described);
        expect(Array.from({ length: cols.count }, (_, k) => cols.name(k))).toEqual(names);
      } else {
        await expect(described).rejects.toThrow(DiffaiError);
        await expect(described).rejects.toThrow(`tensor ${repeated} appears twice in the header`);
      }
    }
  });

  for (const lone of [false, true]) {
    it(`a diff joins unicode names as the strings would: the same added, removed and common names, in compareNames order${lone ? ' (with a lone surrogate: strings compared)' : ''}`, async () => {
      const a = ['\u{1F600}', '\uFF21', 'é.2', 'é.10', 'shared.1', '\\u0041', 'only.a', ...(lone ? ['\\ud800'] : [])];
      const b = ['\\ud83d\\ude00', '\\uff21', 'é.10', 'shared.1', 'A', 'only.b', '\u{1F601}', '\uFF22', ...(lone ? ['\\ud800', '\\udbff'] : [])];
      const fa = fileWithKeys(`join-a-${lone}.safetensors`, a);
      const fb = fileWithKeys(`join-b-${lone}.safetensors`, b);
      const [na, nb] = [parsedNames(fa.header), parsedNames(fb.header)];
      const report = await diffFiles(fa.path, fb.path, { shapeOnly: true });
      const removed = na.filter((n) => !nb.includes(n)).sort(compareNames);
      const added = nb.filter((n) => !na.includes(n)).sort(compareNames);
      expect(report.results.filter((r) => r.kind === 'TensorRemoved').map((r) => r.name)).toEqual(removed);
      expect(report.results.filter((r) => r.kind === 'TensorAdded').map((r) => r.name)).toEqual(added);
      expect(report.results.map((r) => r.name)).toEqual([...removed, ...added].sort(compareNames));
      expect(removed).toEqual(['only.a', 'é.2']);
      expect(added).toEqual(lone ? ['only.b', '\u{1F601}', '\udbff', '\uFF22'] : ['only.b', '\u{1F601}', '\uFF22']);
    });
  }

  it('a table filled from strings and from bytes holds the same names; lookups work unsorted (hash) and sorted (binary search)', () => {
    const names = ['b.10', 'b.9', '', 'é', '\u{1F600}', '\uFF21', 'a\ud800', 'a'];
    const fromStrings = new NameTable(2, 4);
    for (const n of names) fromStrings.add(n);
    expect(Array.from({ length: fromStrings.count }, (_, i) => fromStrings.name(i))).toEqual(names);
    expect(fromStrings.inNaturalOrder()).toBe(false);
    for (const [i, n] of names.entries()) {
      for (const suffix of ['', 'a', '.10', '0', 'step']) expect(fromStrings.endsWith(i, suffix), `${n} ${suffix}`).toBe(n.endsWith(suffix));
      for (const prefix of ['', 'b', 'b.', 'a']) expect(single(n).everyStartsWith(prefix, true)).toBe(n.startsWith(prefix) && n.length > prefix.length);
    }
    for (const [i, n] of names.entries()) expect(fromStrings.indexOf(n)).toBe(i);
    const sorted = names.filter((n) => !n.includes('\ud800')).sort(compareNames);
    const fromBytes = new NameTable(2, 4);
    for (const n of sorted) {
      const bytes = Buffer.from(`"${n}"`, 'utf8');
      fromBytes.addBytes(bytes, 1, bytes.length - 1, bytes.length === n.length + 2);
    }
    expect(fromBytes.inNaturalOrder()).toBe(true);
    expect(Array.from({ length: fromBytes.count }, (_, i) => fromBytes.name(i))).toEqual(sorted);
    for (const [i, n] of sorted.entries()) expect(fromBytes.indexOf(n)).toBe(i);
    for (const absent of ['b', 'b.1', '\uFFFD', 'a\ud800']) expect(fromBytes.indexOf(absent)).toBe(-1);
    expect(fromBytes.firstRepeat()).toBe(-1);
    fromBytes.add('é');
    expect(fromBytes.firstRepeat()).toBe(sorted.length);
  });

  it('utf8TermSafe flags exactly the characters termSafe escapes, from their UTF-8 bytes', () => {
    const bad: number[] = [];
    for (let c = 0; c <= 0x10ffff; c += c < 0x10000 ? 1 : 0x3ff) {
      if (c >= 0xd800 && c < 0xe000) continue;
      const s = String.fromCodePoint(c);
      const safe = utf8TermSafe(Buffer.from(`a${s}b`, 'utf8'));
      if (safe !== (termSafe(s) === s)) bad.push(c);
    }
    expect(bad).toEqual([]);
    expect(utf8TermSafe(Buffer.from('layers.0.weight\u00e9\u{1F600}'))).toBe(true);
    expect(utf8TermSafe(Buffer.from('x\u001b[2Jy'))).toBe(false);
    // Long runs are tested a window at a time: a sequence across a window's edge is still seen.
    const W = UTF8_WINDOW;
    for (const at of [W - 3, W - 2, W - 1, W, 2 * W - 5, 2 * W - 4, 2 * W - 3, 3 * W + 1]) {
      const bytes = Buffer.alloc(3 * W + 7, 'a');
      expect(utf8TermSafe(bytes)).toBe(true);
      bytes.set([0xe2, 0x80, 0xae], at); // U+202E, right-to-left override
      expect(utf8TermSafe(bytes), String(at)).toBe(false);
    }
  });
});
