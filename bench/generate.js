// Writes benchmark inputs into bench/data (git-ignored): safetensors files of a given
// dtype and size, filled with a fast deterministic generator. Existing files are reused.
import { closeSync, existsSync, mkdirSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { basename, dirname } from 'node:path';

/** @typedef {'f32' | 'f16' | 'bf16'} GenDtype */

const ST_DTYPE = { f32: 'F32', f16: 'F16', bf16: 'BF16' };
const SIZE = { f32: 4, f16: 2, bf16: 2 };
/** Elements generated at once: 16 MiB of f32 scratch, reused for the whole file. */
const PIECE = 4 << 20;

/**
 * Writes to `fd` through a 16 MiB buffer (many small pieces become few large writes; a
 * piece larger than the buffer is written straight from where it is); `offset` is the
 * bytes written so far, `flush` writes what is held.
 * @param {number} fd
 */
export function bufferedWriter(fd) {
  const out = new Uint8Array(16 << 20);
  let held = 0;
  /** @param {Uint8Array} bytes */
  const writeAll = (bytes) => {
    for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
  };
  const w = {
    offset: 0,
    /** @param {Uint8Array} bytes */
    write(bytes) {
      w.writeRange(bytes, 0, bytes.length);
    },
    /** Writes bytes[start, end) without making a view of them (tiny tensors come by the million). @param {Uint8Array} bytes @param {number} start @param {number} end */
    writeRange(bytes, start, end) {
      const length = end - start;
      if (held + length > out.length) w.flush();
      if (length > out.length) writeAll(bytes.subarray(start, end));
      else {
        if (length > 256) out.set(bytes.subarray(start, end), held);
        else for (let i = 0; i < length; i++) out[held + i] = /** @type {number} */ (bytes[start + i]);
        held += length;
      }
      w.offset += length;
    },
    flush() {
      writeAll(out.subarray(0, held));
      held = 0;
    },
  };
  return w;
}

/**
 * A fast deterministic generator: four interleaved xorshift32 streams (independent chains
 * let the CPU overlap them: ~4× one stream), seeded from `seed`. Each fill continues the
 * sequence, so a file's values do not depend on how it is cut into pieces.
 * @param {number} seed
 */
export function prng(seed) {
  // Four distinct non-zero states (xorshift32 must never hold 0).
  const mix = (/** @type {number} */ x) => {
    x = Math.imul(x ^ (x >>> 16), 0x45d9f3b);
    x = Math.imul(x ^ (x >>> 16), 0x45d9f3b);
    return (x ^ (x >>> 16)) | 1;
  };
  let a = mix(seed);
  let b = mix(seed + 0x9e3779b9);
  let c = mix(seed + 0x3c6ef372);
  let d = mix(seed + 0xdaa66d2b);
  /** One step of each of the four streams (V8 inlines it into the fill loops). */
  const step = () => {
    a ^= a << 13;
    a ^= a >>> 17;
    a ^= a << 5;
    b ^= b << 13;
    b ^= b >>> 17;
    b ^= b << 5;
    c ^= c << 13;
    c ^= c >>> 17;
    c ^= c << 5;
    d ^= d << 13;
    d ^= d >>> 17;
    d ^= d << 5;
  };
  return {
    /** Fills u32[0, n) with random words (rounded up to 4: the array needs room for 3 more). @param {Uint32Array} u32 @param {number} n */
    words(u32, n) {
      for (let i = 0; i < n; i += 4) {
        step();
        u32[i] = a;
        u32[i + 1] = b;
        u32[i + 2] = c;
        u32[i + 3] = d;
      }
    },
    /**
     * Fills f32[0, n) with uniform ±0.035 values (roughly the spread of N(0, 0.02) weights),
     * rounded up to 4 like words().
     * @param {Float32Array} f32 @param {number} n
     */
    weights(f32, n) {
      const k = 0.07 / 4294967296;
      for (let i = 0; i < n; i += 4) {
        step();
        f32[i] = (a >>> 0) * k - 0.035;
        f32[i + 1] = (b >>> 0) * k - 0.035;
        f32[i + 2] = (c >>> 0) * k - 0.035;
        f32[i + 3] = (d >>> 0) * k - 0.035;
      }
    },
  };
}

/**
 * bf16 of n f32 (given as their bits, from bits[from]): the upper halves (truncation).
 * @param {Uint32Array} bits @param {number} from @param {Uint16Array} out @param {number} n
 */
export function toBf16(bits, from, out, n) {
  for (let i = 0; i < n; i++) out[i] = /** @type {number} */ (bits[from + i]) >>> 16;
}

/**
 * f16 of n f32 (given as their bits), rounded to nearest even, in integer operations:
 * normals rebias the exponent (127 → 15) and round the mantissa by adding half an f16 ulp;
 * subnormals (|x| < 2^-14, rare here) go through a float addition of 0.5, whose f32 ulp is
 * the f16 subnormal step 2^-24; overflow saturates to infinity (NaN is not generated).
 * @param {Uint32Array} bits @param {number} from @param {Uint16Array} out @param {number} n
 */
export function toF16(bits, from, out, n) {
  const one = new Float32Array(1);
  const oneBits = new Uint32Array(one.buffer);
  for (let i = 0; i < n; i++) {
    const x = /** @type {number} */ (bits[from + i]);
    const a = x & 0x7fffffff;
    let h;
    if (a >= 0x38800000) {
      h = (a - 0x38000000 + 0xfff + ((a >>> 13) & 1)) >>> 13;
      if (h > 0x7c00) h = 0x7c00;
    } else {
      oneBits[0] = a;
      one[0] += 0.5;
      h = oneBits[0] - 0x3f000000;
    }
    out[i] = ((x >>> 16) & 0x8000) | h;
  }
}

/**
 * A safetensors file of about `bytes` tensor bytes split into `tensors` tensors; `seed` varies
 * the values (uniform ±0.035); `perturb` is added to every 7th element of every
 * `changeEvery`-th tensor, so B = A + small changes and the other tensors are identical.
 * `mixed` alternates the tensors' dtypes between `dtype` (even tensors) and bf16 (odd ones),
 * like a checkpoint with f32 norms/embeddings and bf16 weights; each gets bytes/tensors bytes.
 * `shape` gives every tensor that shape instead (and `bytes` is ignored). Values come from
 * one continuing stream, generated PIECE elements at a time and converted with integer ops;
 * a file already there with the expected size is reused.
 * @param {string} path
 * @param {{ dtype?: GenDtype, bytes?: number, tensors?: number, seed?: number, perturb?: number, changeEvery?: number, mixed?: boolean, shape?: number[] }} [options]
 * @returns {string} `path`
 */
export function makeSafetensors(
  path,
  { dtype = 'f32', bytes = 1 << 30, tensors = 8, seed = 1, perturb = 0, changeEvery = 1, mixed = false, shape = undefined } = {},
) {
  /** @param {number} t */
  const dtypeOf = (t) => (mixed && t % 2 === 1 ? 'bf16' : dtype);
  /** @type {number[]} */
  const counts = [];
  let total = 0;
  for (let t = 0; t < tensors; t++) {
    // `shape`: every tensor has that shape (matrices for the linear-algebra cases) instead of 1-D.
    const per = shape ? shape.reduce((x, y) => x * y, 1) : Math.floor(bytes / SIZE[dtypeOf(t)] / tensors);
    counts.push(per);
    total += per * SIZE[dtypeOf(t)];
  }
  // The header's JSON is encoded entry by entry into one buffer sized for the longest entry
  // (80 fixed characters and at most four numbers): building an object or an array of strings
  // of a million entries first costs seconds of garbage collection.
  const shapeText = shape ? shape.join(',') : undefined;
  const digits = String(Math.max(total, tensors)).length;
  const json = Buffer.allocUnsafe(64 + tensors * (80 + 4 * digits + (shapeText?.length ?? 0)));
  let length = 0;
  /** @param {string} s */
  const emit = (s) => {
    if (length + s.length > json.length) throw new Error('safetensors header longer than its bound');
    length += json.write(s, length, 'latin1');
  };
  let offset = 0;
  for (let t = 0; t < tensors; t++) {
    const size = SIZE[dtypeOf(t)];
    const per = /** @type {number} */ (counts[t]);
    emit(
      `${t ? ',' : '{'}"layers.${t}.weight":{"dtype":"${ST_DTYPE[dtypeOf(t)]}","shape":[${shapeText ?? per}],"data_offsets":[${offset},${offset + per * size}]}`,
    );
    offset += per * size;
  }
  emit(`${tensors ? '' : '{'}}`);
  emit(' '.repeat((8 - ((length + 8) % 8)) % 8));
  const expected = 8 + length + offset;
  if (existsSync(path) && statSync(path).size === expected) return path;
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'w');
  const writer = bufferedWriter(fd);
  const lengthBytes = Buffer.alloc(8);
  lengthBytes.writeBigUInt64LE(BigInt(length));
  writer.write(lengthBytes);
  writer.writeRange(json, 0, length);
  // Scratch with room for the 4-element rounding of the generator.
  const f32 = new Float32Array(PIECE + 4);
  const u32 = new Uint32Array(f32.buffer);
  const u16 = new Uint16Array(PIECE);
  const f32Bytes = new Uint8Array(f32.buffer);
  const u16Bytes = new Uint8Array(u16.buffer);
  const gen = prng(seed);
  // Values left over from the last fill (small tensors take a slice of one fill).
  let have = 0;
  let at = 0;
  for (let t = 0; t < tensors; t++) {
    const per = /** @type {number} */ (counts[t]);
    const type = dtypeOf(t);
    const nudge = perturb !== 0 && t % changeEvery === 0;
    for (let done = 0; done < per; ) {
      if (at === have) {
        gen.weights(f32, PIECE);
        have = PIECE;
        at = 0;
      }
      const n = Math.min(have - at, per - done);
      // Every 7th element of the tensor (counted from its start) moves by `perturb`.
      if (nudge) for (let i = at + ((7 - (done % 7)) % 7); i < at + n; i += 7) f32[i] += perturb;
      if (type === 'f32') writer.writeRange(f32Bytes, at * 4, (at + n) * 4);
      else {
        (type === 'bf16' ? toBf16 : toF16)(u32, at, u16, n);
        writer.writeRange(u16Bytes, 0, n * 2);
      }
      at += n;
      done += n;
    }
  }
  writer.flush();
  closeSync(fd);
  return path;
}

/** Block geometry of the GGUF types the bench writes: ggml type id, elements and bytes per block. */
const GGUF_TYPES = { Q8_0: { id: 8, block: 32, bytes: 34 }, Q4_K: { id: 12, block: 256, bytes: 144 } };

/**
 * A GGUF v3 file of about `bytes` bytes of `type` blocks in `tensors` tensors of rows of 4096
 * elements: random quants with small positive f16 scales (valid blocks, not a real model).
 * @param {string} path
 * @param {{ type?: 'Q8_0' | 'Q4_K', bytes?: number, tensors?: number, seed?: number }} [options]
 * @returns {string} `path`
 */
export function makeGguf(path, { type = 'Q8_0', bytes = 1 << 30, tensors = 8, seed = 7 } = {}) {
  const t = GGUF_TYPES[type];
  const cols = 4096;
  const rowBytes = (cols / t.block) * t.bytes;
  const rows = Math.max(1, Math.floor(bytes / tensors / rowBytes));
  const tensorBytes = rows * rowBytes;
  const align = 32;
  const str = (/** @type {string} */ s) => {
    const b = Buffer.alloc(8 + Buffer.byteLength(s));
    b.writeBigUInt64LE(BigInt(Buffer.byteLength(s)));
    b.write(s, 8);
    return b;
  };
  const u32 = (/** @type {number} */ v) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    return b;
  };
  const u64 = (/** @type {number} */ v) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    return b;
  };
  const padded = Math.ceil(tensorBytes / align) * align;
  /** @type {Buffer[]} */
  const head = [Buffer.from('GGUF'), u32(3), u64(tensors), u64(1), str('general.architecture'), u32(8), str('llama')];
  for (let i = 0; i < tensors; i++) head.push(str(`blk.${i}.ffn_up.weight`), u32(2), u64(cols), u64(rows), u32(t.id), u64(i * padded));
  let header = Buffer.concat(head);
  header = Buffer.concat([header, Buffer.alloc((align - (header.length % align)) % align)]);
  const expected = header.length + padded * (tensors - 1) + tensorBytes;
  if (existsSync(path) && statSync(path).size === expected) return path;
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'w');
  const writer = bufferedWriter(fd);
  writer.write(header);
  // Rows are whole blocks of an even size (34 or 144 bytes) and a multiple of 4 bytes, so the
  // chunk is filled as u32 words and its f16 scales patched through a u16 view.
  const chunkRows = Math.max(1, Math.floor((16 << 20) / rowBytes));
  const buf = new Uint8Array(chunkRows * rowBytes + 16);
  const words = new Uint32Array(buf.buffer);
  const halves = new Uint16Array(buf.buffer);
  const gen = prng(seed);
  const step = t.bytes / 2;
  for (let i = 0; i < tensors; i++) {
    for (let done = 0; done < rows; ) {
      const n = Math.min(chunkRows, rows - done);
      const length = n * rowBytes;
      gen.words(words, length / 4);
      // f16 scales 2^-10 … 2^-7 (d and, for Q4_K, dmin): exponent bits 5..8, random mantissa.
      for (let h = 0; h < length / 2; h += step) {
        const x = /** @type {number} */ (halves[h]);
        halves[h] = ((5 + (x & 3)) << 10) | (x & 0x3ff);
        if (type === 'Q4_K') {
          const y = /** @type {number} */ (halves[h + 1]);
          halves[h + 1] = ((5 + (y & 3)) << 10) | (y & 0x3ff);
        }
      }
      writer.write(buf.subarray(0, length));
      done += n;
    }
    if (i < tensors - 1) writer.write(new Uint8Array(padded - tensorBytes));
  }
  writer.flush();
  closeSync(fd);
  return path;
}

/**
 * The header of a safetensors file the bench wrote: its tensors (without `__metadata__`) and
 * where the data section starts.
 * @param {string} path
 * @returns {{ tensors: Record<string, { dtype: string, shape: number[], data_offsets: [number, number] }>, dataStart: number }}
 */
export function readSafetensorsHeader(path) {
  const fd = openSync(path, 'r');
  const lenBuf = Buffer.alloc(8);
  readSync(fd, lenBuf, 0, 8, 0);
  const n = Number(lenBuf.readBigUInt64LE());
  const json = Buffer.alloc(n);
  readSync(fd, json, 0, n, 8);
  closeSync(fd);
  const tensors = JSON.parse(json.toString('utf8'));
  delete tensors.__metadata__;
  return { tensors, dataStart: 8 + n };
}

/**
 * An ONNX model whose initializers are the tensors of a safetensors file, kept as external
 * data (`location` = that file, with the byte offsets of its data section): the same bytes
 * read through the ONNX reader, so the two can be timed against each other without a second
 * gigabyte on disk. The file must sit in the model's directory.
 * @param {string} path
 * @param {string} safetensorsPath
 * @returns {string} `path`
 */
export function makeOnnxExternal(path, safetensorsPath) {
  const { tensors: header, dataStart } = readSafetensorsHeader(safetensorsPath);
  const ONNX_TYPES = { F32: 1, F16: 10, BF16: 16 };
  /** @param {number} v */
  const varint = (v) => {
    const out = [];
    let x = BigInt(v);
    do {
      const b = Number(x & 0x7fn);
      x >>= 7n;
      out.push(x > 0n ? b | 0x80 : b);
    } while (x > 0n);
    return Buffer.from(out);
  };
  /** @param {number} field @param {Buffer} payload */
  const len = (field, payload) => Buffer.concat([varint(field * 8 + 2), varint(payload.length), payload]);
  /** @param {number} field @param {number} v */
  const vint = (field, v) => Buffer.concat([varint(field * 8), varint(v)]);
  /** @param {number} field @param {string} s */
  const str = (field, s) => len(field, Buffer.from(s));
  /** @param {string} key @param {string} value */
  const entry = (key, value) => len(13, Buffer.concat([str(1, key), str(2, value)]));
  const inits = Object.entries(header).map(([name, info]) =>
    len(
      5,
      Buffer.concat([
        ...info.shape.map((d) => vint(1, d)),
        vint(2, ONNX_TYPES[/** @type {'F32' | 'F16' | 'BF16'} */ (info.dtype)]),
        str(8, name),
        entry('location', basename(safetensorsPath)),
        entry('offset', String(dataStart + info.data_offsets[0])),
        entry('length', String(info.data_offsets[1] - info.data_offsets[0])),
        vint(14, 1),
      ]),
    ),
  );
  const model = Buffer.concat([vint(1, 8), str(2, 'diffai-bench'), len(7, Buffer.concat([str(2, 'bench'), ...inits])), len(8, vint(2, 17))]);
  mkdirSync(dirname(path), { recursive: true });
  const out = openSync(path, 'w');
  writeSync(out, model);
  closeSync(out);
  return path;
}
