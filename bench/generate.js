// Writes benchmark inputs into bench/data (git-ignored): safetensors files of a given
// dtype and size, filled with a fast deterministic generator. Existing files are reused.
import { closeSync, existsSync, mkdirSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { basename, dirname } from 'node:path';

/** @typedef {'f32' | 'f16' | 'bf16'} GenDtype */

const ST_DTYPE = { f32: 'F32', f16: 'F16', bf16: 'BF16' };
const SIZE = { f32: 4, f16: 2, bf16: 2 };

/**
 * Writes to `fd` through an 8 MiB buffer (large inputs are made of many small pieces);
 * `offset` is the bytes written so far, `flush` writes what is held.
 * @param {number} fd
 */
export function bufferedWriter(fd) {
  const out = new Uint8Array(8 << 20);
  let held = 0;
  const w = {
    offset: 0,
    /** @param {Uint8Array} bytes */
    write(bytes) {
      if (held + bytes.length > out.length) w.flush();
      if (bytes.length > out.length) writeSync(fd, bytes);
      else {
        out.set(bytes, held);
        held += bytes.length;
      }
      w.offset += bytes.length;
    },
    flush() {
      writeSync(fd, out.subarray(0, held));
      held = 0;
    },
  };
  return w;
}

/**
 * A safetensors file of about `bytes` tensor bytes split into `tensors` tensors; `seed` varies
 * the values; `perturb` is added to every 7th element of every `changeEvery`-th tensor.
 * `mixed` alternates the tensors' dtypes between `dtype` (even tensors) and bf16 (odd ones),
 * like a checkpoint with f32 norms/embeddings and bf16 weights; each gets bytes/tensors bytes.
 * `shape` gives every tensor that shape instead (and `bytes` is ignored).
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
  /** @type {Record<string, { dtype: string, shape: number[], data_offsets: [number, number] }>} */
  const header = {};
  /** @type {number[]} */
  const counts = [];
  let offset = 0;
  for (let t = 0; t < tensors; t++) {
    const size = SIZE[dtypeOf(t)];
    // `shape`: every tensor has that shape (matrices for the linear-algebra cases) instead of 1-D.
    const per = shape ? shape.reduce((x, y) => x * y, 1) : Math.floor(bytes / size / tensors);
    counts.push(per);
    header[`layers.${t}.weight`] = { dtype: ST_DTYPE[dtypeOf(t)], shape: shape ?? [per], data_offsets: [offset, offset + per * size] };
    offset += per * size;
  }
  let json = JSON.stringify(header);
  while ((json.length + 8) % 8 !== 0) json += ' ';
  const expected = 8 + json.length + offset;
  if (existsSync(path) && statSync(path).size === expected) return path;
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'w');
  const lengthBytes = Buffer.alloc(8);
  lengthBytes.writeBigUInt64LE(BigInt(json.length));
  writeSync(fd, lengthBytes);
  writeSync(fd, Buffer.from(json));
  const { write, flush } = bufferedWriter(fd);
  const f32 = new Float32Array(1 << 20);
  const u32 = new Uint32Array(f32.buffer);
  const u16 = new Uint16Array(1 << 20);
  let state = seed >>> 0;
  for (let t = 0; t < tensors; t++) {
    const per = /** @type {number} */ (counts[t]);
    const type = dtypeOf(t);
    for (let done = 0; done < per; ) {
      const n = Math.min(f32.length, per - done);
      for (let i = 0; i < n; i++) {
        // xorshift32 → roughly N(0, 0.02)-sized weights
        state ^= state << 13;
        state >>>= 0;
        state ^= state >>> 17;
        state ^= state << 5;
        state >>>= 0;
        f32[i] = (state / 4294967296 - 0.5) * 0.07;
        if (perturb && i % 7 === 0 && t % changeEvery === 0) f32[i] += perturb;
      }
      if (type === 'f32') write(new Uint8Array(f32.buffer, 0, n * 4));
      else {
        for (let i = 0; i < n; i++) u16[i] = type === 'bf16' ? u32[i] >>> 16 : toF16(f32[i]);
        write(new Uint8Array(u16.buffer, 0, n * 2));
      }
      done += n;
    }
  }
  flush();
  closeSync(fd);
  return path;
}

/**
 * @param {number} x
 * @returns {number} the f16 bits
 */
function toF16(x) {
  // Round-to-nearest f32 → f16 for the generator (values here are small and normal).
  const f = new Float32Array([x]);
  const bits = new Uint32Array(f.buffer)[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = ((bits >>> 23) & 0xff) - 127 + 15;
  const man = bits & 0x7fffff;
  if (exp <= 0) return sign;
  if (exp >= 31) return sign | 0x7c00;
  return sign | (exp << 10) | Math.round(man / 8192);
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
  writeSync(fd, header);
  const chunkRows = Math.max(1, Math.floor((8 << 20) / rowBytes));
  const buf = Buffer.alloc(chunkRows * rowBytes);
  const words = new Uint32Array(buf.buffer, buf.byteOffset, Math.floor(buf.length / 4));
  let state = seed >>> 0;
  for (let i = 0; i < tensors; i++) {
    for (let done = 0; done < rows; ) {
      const n = Math.min(chunkRows, rows - done);
      for (let w = 0; w < words.length; w++) {
        state ^= state << 13;
        state >>>= 0;
        state ^= state >>> 17;
        state ^= state << 5;
        state >>>= 0;
        words[w] = state;
      }
      // f16 scales 2^-10 … 2^-7 (d and, for Q4_K, dmin): exponent bits 5..8, random mantissa.
      for (let b = 0; b < (n * rowBytes) / t.bytes; b++) {
        const at = b * t.bytes;
        const scale = (/** @type {number} */ p) => buf.writeUInt16LE((((5 + (buf.readUInt8(p) & 3)) << 10) | (buf.readUInt16LE(p) & 0x3ff)) >>> 0, p);
        scale(at);
        if (type === 'Q4_K') scale(at + 2);
      }
      writeSync(fd, buf, 0, n * rowBytes);
      done += n;
    }
    if (i < tensors - 1) writeSync(fd, Buffer.alloc(padded - tensorBytes));
  }
  closeSync(fd);
  return path;
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
  const fd = openSync(safetensorsPath, 'r');
  const lenBuf = Buffer.alloc(8);
  readSync(fd, lenBuf, 0, 8, 0);
  const n = Number(lenBuf.readBigUInt64LE());
  const json = Buffer.alloc(n);
  readSync(fd, json, 0, n, 8);
  closeSync(fd);
  /** @type {Record<string, { dtype: string, shape: number[], data_offsets: [number, number] }>} */
  const header = JSON.parse(json.toString('utf8'));
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
  const inits = Object.entries(header)
    .filter(([name]) => name !== '__metadata__')
    .map(([name, info]) =>
      len(
        5,
        Buffer.concat([
          ...info.shape.map((d) => vint(1, d)),
          vint(2, ONNX_TYPES[/** @type {'F32' | 'F16' | 'BF16'} */ (info.dtype)]),
          str(8, name),
          entry('location', basename(safetensorsPath)),
          entry('offset', String(8 + n + info.data_offsets[0])),
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
