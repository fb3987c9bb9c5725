/**
 * The bounded JSON scanner the safetensors header is read with, fuzzed against JSON.parse:
 * for valid and mutated documents it must accept exactly what JSON.parse accepts (on the
 * bytes decoded as UTF-8) and decode the same strings and numbers.
 */
import { describe, expect, it } from 'vitest';
import { JsonScanner, MAX_JSON_DEPTH } from '../src/io/json-scanner.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** A value built through the scanner's token API alone (what the safetensors reader uses). */
function scanValue(json: JsonScanner, depth = 0): Json {
  const c = json.peek();
  if (c === 0x7b) {
    json.pos++;
    const out: { [k: string]: Json } = {};
    if (json.empty(0x7d)) return out;
    do {
      const key = json.string();
      json.expect(0x3a);
      Object.defineProperty(out, key, { value: scanValue(json, depth + 1), enumerable: true, configurable: true, writable: true });
    } while (json.more(0x7d));
    return out;
  }
  if (c === 0x5b) {
    json.pos++;
    const out: Json[] = [];
    if (json.empty(0x5d)) return out;
    do out.push(scanValue(json, depth + 1));
    while (json.more(0x5d));
    return out;
  }
  if (c === 0x22) return json.string();
  if (json.atNumber()) return json.number();
  const start = json.pos;
  json.skipValue(); // true, false, null (or a syntax error)
  return JSON.parse(Buffer.from(json.bytes.subarray(start, json.pos)).toString('latin1'));
}

type Outcome = { ok: true; value: Json } | { ok: false };

/** `buffer`: scan a Buffer copy (strings then decode through Buffer's own slices, as the safetensors reader's window does). */
function viaScanner(bytes: Uint8Array, buffer = false): Outcome {
  try {
    const json = new JsonScanner(buffer ? Buffer.from(bytes) : bytes);
    const value = scanValue(json);
    if (!json.atEnd()) return { ok: false };
    return { ok: true, value };
  } catch {
    return { ok: false };
  }
}

function viaSkip(bytes: Uint8Array): boolean {
  try {
    const json = new JsonScanner(bytes);
    json.skipValue();
    return json.atEnd();
  } catch {
    return false;
  }
}

function viaJsonParse(bytes: Uint8Array): Outcome {
  try {
    return { ok: true, value: JSON.parse(Buffer.from(bytes).toString('utf8')) };
  } catch {
    return { ok: false };
  }
}

/** A deterministic generator (xorshift32). */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

const PIECES = ['a', 'é', '\u{1F600}', '\\"', '\\\\', '\\/', '\\n', '\\u00e9', '\\ud83d\\ude00', '\\ud800', 'tensor.0.weight', ' '];
const NUMBERS = ['0', '-0', '7', '123456789012345', '1234567890123456789', '1.5', '-2.25e-3', '1e400', '1E+2', '0.0', '9007199254740993'];

function randomValue(r: () => number, depth: number): string {
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
  const kind = depth > 3 ? Math.floor(r() * 4) : Math.floor(r() * 6);
  switch (kind) {
    case 0:
      return `"${Array.from({ length: Math.floor(r() * 4) }, () => pick(PIECES)).join('')}"`;
    case 1:
      return pick(NUMBERS);
    case 2:
      return pick(['true', 'false', 'null']);
    case 3:
      return `"${pick(['F32', 'BF16', 'dtype', 'shape'])}"`;
    case 4:
      return `[${Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1)).join(pick([',', ' , ', ',\n']))}]`;
    default:
      return `{${Array.from({ length: Math.floor(r() * 4) }, () => `${randomValue(r, 4).startsWith('"') ? `"k${Math.floor(r() * 3)}"` : '"x"'}:${randomValue(r, depth + 1)}`).join(',')}}`;
  }
}

const MUTATIONS = [
  0x22, 0x5c, 0x75, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x2d, 0x2e, 0x65, 0x30, 0x31, 0x00, 0x01, 0x1f, 0x7f, 0x80, 0xc3, 0xff, 0x20, 0x0a, 0x74, 0x6e,
];

function mutate(r: () => number, bytes: Uint8Array): Uint8Array {
  const out = [...bytes];
  const edits = 1 + Math.floor(r() * 3);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(r() * (out.length + 1));
    const byte = MUTATIONS[Math.floor(r() * MUTATIONS.length)]!;
    const op = Math.floor(r() * 3);
    if (op === 0) out.splice(at, 0, byte);
    else if (op === 1) out.splice(at, 1);
    else if (at < out.length) out[at] = byte;
  }
  return Uint8Array.from(out);
}

function agree(bytes: Uint8Array): void {
  const expected = viaJsonParse(bytes);
  const got = viaScanner(bytes);
  const text = Buffer.from(bytes).toString('latin1');
  expect(got.ok, `scanner acceptance of ${JSON.stringify(text)}`).toBe(expected.ok);
  expect(viaSkip(bytes), `skipValue acceptance of ${JSON.stringify(text)}`).toBe(expected.ok);
  if (got.ok && expected.ok) expect(canonical(got.value), text).toBe(canonical(expected.value));
  const viaBuffer = viaScanner(bytes, true);
  expect(viaBuffer.ok, `scanner acceptance of ${JSON.stringify(text)} in a Buffer`).toBe(expected.ok);
  if (viaBuffer.ok && expected.ok) expect(canonical(viaBuffer.value), text).toBe(canonical(expected.value));
}

/** A value as text that tells -0 from 0 and keeps own keys such as __proto__ in order (deep equality through a proto-free form). */
function canonical(v: Json): string {
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  return `{${Object.keys(v)
    .map((k) => `${JSON.stringify(k)}:${canonical(v[k]!)}`)
    .join(',')}}`;
}

describe('JsonScanner agrees with JSON.parse', () => {
  it('on 3,000 random documents and 9,000 mutations of them', () => {
    const r = rng(20261206);
    for (let i = 0; i < 3000; i++) {
      const doc = Buffer.from(randomValue(r, 0), 'utf8');
      agree(doc);
      for (let m = 0; m < 3; m++) agree(mutate(r, doc));
    }
  });

  it('on hand-picked edge cases', () => {
    const cases = [
      '',
      ' ',
      '{}',
      '[]',
      '{"a":1,}',
      '[1,]',
      '01',
      '-',
      '1.',
      '.5',
      '1e',
      '+1',
      '"\\x"',
      '"\\u12"',
      '"\\uZZZZ"',
      '"a\tb"',
      '"\u0000"',
      'tru',
      'nul',
      '{"a" 1}',
      '{1:2}',
      '["\\ud83d\\ude00", "\\uD83D"]',
      '\ufeff{}',
      '{"__proto__": 1, "constructor": {"x": []}}',
      '{"a":1} x',
      '  [  1 ,\n 2 \r\n ]  ',
    ];
    for (const c of cases) agree(Buffer.from(c, 'utf8'));
    agree(Uint8Array.from([0x22, 0xc3, 0x28, 0x22])); // invalid UTF-8 → U+FFFD, as JSON.parse of the decoded text
    agree(Uint8Array.from([0x22, 0xe2, 0x82, 0x22]));
  });

  it('skips nesting up to the depth limit without recursion and refuses deeper', () => {
    const nested = (n: number) => Buffer.from(`${'['.repeat(n)}${']'.repeat(n)}`);
    expect(viaSkip(nested(MAX_JSON_DEPTH))).toBe(true);
    expect(() => new JsonScanner(nested(MAX_JSON_DEPTH + 1)).skipValue()).toThrow(/nesting deeper than 1000 levels/);
    expect(() => new JsonScanner(nested(10_000_000)).skipValue()).toThrow(/nesting deeper/);
  });

  it('plainIntList reads compact integer lists as JSON.parse does, and leaves anything else untouched', () => {
    const r = rng(7);
    const forms = [
      '[]',
      '[0]',
      '[16]',
      '[1,2,3]',
      '[123456789012345]',
      '[1234567890123456]',
      '[01]',
      '[1 ,2]',
      '[ 1]',
      '[-1]',
      '[1.5]',
      '[1e2]',
      '[1,]',
      '[,1]',
      '[1',
      '[',
      '1',
      '[0,0]',
      '[00]',
      '[1,2]x',
    ];
    const cases = [...forms];
    for (let i = 0; i < 2000; i++) {
      const n = Math.floor(r() * 4);
      const items = Array.from({ length: n }, () => forms[Math.floor(r() * forms.length)]!.replace(/[[\]]/g, ''));
      cases.push(`[${items.join(r() < 0.8 ? ',' : ', ')}]`);
    }
    for (const text of cases) {
      const json = new JsonScanner(Buffer.from(`${text}`));
      const out: number[] = [7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7];
      const n = json.plainIntList(out);
      if (n < 0) {
        expect(json.pos, text).toBe(0);
        continue;
      }
      // Accepted: exactly the integers JSON.parse reads from the bytes it consumed, all safe.
      const parsed = JSON.parse(text.slice(0, json.pos)) as number[];
      expect(out.slice(0, n), text).toEqual(parsed);
      expect(
        parsed.every((v) => Number.isSafeInteger(v) && v >= 0 && !Object.is(v, -0)),
        text,
      ).toBe(true);
    }
    // The common forms are taken on the fast path.
    for (const text of ['[]', '[16]', '[4096,11008]', '[0,123456789012345]'])
      expect(new JsonScanner(Buffer.from(text)).plainIntList([]), text).toBe(JSON.parse(text).length);
  });

  it('stringOf matches keys by bytes and through escapes', () => {
    const json = new JsonScanner(Buffer.from('"shape" "d\\u0074ype" "other" "dtypes"'));
    const words = ['dtype', 'shape', 'data_offsets'];
    expect([json.stringOf(words), json.stringOf(words), json.stringOf(words), json.stringOf(words)]).toEqual([1, 0, -1, -1]);
  });
});
