/**
 * Hostile ONNX, GGUF, MAT v5 and PyTorch files of the second hostile round, built at test
 * time: many tiny tensors, repeated names, metadata beyond the text budget, external data
 * ranges that share bytes, views that revisit one storage. Small files that ask for much.
 */
import { constants, crc32, deflateRawSync } from 'node:zlib';
import { key, len, str, varint, vint } from './protobuf_writer.js';
import { matCompressedRaw, matDouble, matFile, npyRaw } from './hostile_files.js';
import { buildZip } from './zip.js';
import { stateDictOf, torchZip, viewTensor } from './hostile_pickle.js';

const bytes = (a: number[]): Buffer => Buffer.from(a);

/** A length-delimited protobuf field around a Buffer payload (no array spread of large payloads). */
export function lenField(field: number, payload: Buffer): Buffer {
  return Buffer.concat([bytes(key(field, 2)), bytes(varint(payload.length)), payload]);
}

/** An ONNX TensorProto: dims, data type, name, then any further fields. */
export function onnxTensor(name: string, dims: number[], dataType: number, ...rest: Buffer[]): Buffer {
  return Buffer.concat([bytes([...dims.flatMap((d) => vint(1, d)), ...vint(2, dataType), ...str(8, name)]), ...rest]);
}

/** A float32 scalar-vector tensor [1] of value 1 in raw_data. */
export function onnxOne(name: string): Buffer {
  return onnxTensor(name, [1], 1, bytes(len(9, [0, 0, 128, 63])));
}

/** An external_data entry (key, value) of a TensorProto, or data_location = EXTERNAL. */
export const onnxExternal = (k: string, v: string): Buffer => lenField(13, bytes([...str(1, k), ...str(2, v)]));
export const ONNX_EXTERNAL_LOCATION = bytes(vint(14, 1));

/** An ONNX ModelProto (ir_version 8) whose graph has these initializers, then further model fields. */
export function onnxModel(initializers: Buffer[], modelFields: Buffer[] = []): Buffer {
  return Buffer.concat([bytes(vint(1, 8)), lenField(7, Buffer.concat(initializers.map((t) => lenField(5, t)))), ...modelFields]);
}

/** A metadata_props entry of a ModelProto. */
export function onnxMetadata(k: string, value: string): Buffer {
  return lenField(14, Buffer.concat([bytes(str(1, k)), lenField(2, Buffer.from(value))]));
}

/** A MAT v5 file of `n` 1×1 double variables v0 … v(n−1). */
export function matManyVariables(n: number): Buffer {
  const one = matDouble('v', [1, 1], [0]);
  const vars: Buffer[] = [];
  for (let i = 0; i < n; i++) vars.push(i === 0 ? one : matDouble(`v${i}`, [1, 1], [i]));
  return matFile(vars);
}

/**
 * A torch zip whose `views` tensors are `b[i:]` of one float32 storage of `numel` elements
 * (as torch.save writes `{f't{i}': b[i:] …}`): each view covers nearly the whole storage.
 */
export function shiftedViews(numel: number, views: number): Buffer {
  const entries: Array<[string, Buffer]> = [];
  for (let i = 0; i < views; i++) entries.push([`t${i}`, viewTensor('0', numel, i, [numel - i], [1])]);
  return torchZip(stateDictOf(entries), { '0': Buffer.alloc(4 * numel) }, false);
}

// ------------------------------------------------------------------ decompression bombs

const ZERO_PIECE = 64 << 20;
let zeroBlocks: Buffer | undefined;

/**
 * Raw DEFLATE blocks of `prefix` then `zeros` zero bytes, not final: deflate's best ratio
 * (~1030:1) without deflating the zeros each time. Full flushes make each piece byte-aligned
 * and independent, so one compressed 64 MiB piece is repeated.
 */
function deflateBlocks(prefix: Buffer, zeros: number): Buffer[] {
  const flush = { finishFlush: constants.Z_FULL_FLUSH, level: 9 };
  zeroBlocks ??= deflateRawSync(Buffer.alloc(ZERO_PIECE), flush);
  const parts: Buffer[] = [deflateRawSync(prefix, flush)];
  let left = zeros;
  for (; left >= ZERO_PIECE; left -= ZERO_PIECE) parts.push(zeroBlocks);
  if (left > 0) parts.push(deflateRawSync(Buffer.alloc(left), flush));
  return parts;
}

/** A complete raw DEFLATE stream of `prefix` then `zeros` zero bytes. */
export function deflatedZeros(zeros: number, prefix: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([...deflateBlocks(prefix, zeros), deflateRawSync(Buffer.alloc(0))]);
}

/** The same as a zlib stream (MATLAB miCOMPRESSED, HDF5 chunks): header, blocks, Adler-32 of the data. */
export function zlibZeros(zeros: number, prefix: Buffer = Buffer.alloc(0)): Buffer {
  let a = 1;
  let b = 0;
  for (const x of prefix) {
    a = (a + x) % 65521;
    b = (b + a) % 65521;
  }
  b = (b + ((a * (zeros % 65521)) % 65521)) % 65521; // each zero adds a (unchanged) to b
  const adler = Buffer.alloc(4);
  adler.writeUInt32BE(((b << 16) | a) >>> 0);
  return Buffer.concat([Buffer.from([0x78, 0xda]), deflatedZeros(zeros, prefix), adler]);
}

/** A gzip member of `prefix` then `zeros` zero bytes (its CRC is not checked before the end). */
export function gzipZeros(zeros: number, prefix: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
  const tail = Buffer.alloc(8);
  // The CRC-32 is checked at the end only: computed for sizes a test inflates whole.
  if (zeros <= 1 << 30) {
    let crc = crc32(prefix);
    for (let left = zeros; left > 0; left -= ZERO_PIECE) crc = crc32(Buffer.alloc(Math.min(left, ZERO_PIECE)), crc);
    tail.writeUInt32LE(crc, 0);
  }
  tail.writeUInt32LE((prefix.length + zeros) % 2 ** 32, 4);
  return Buffer.concat([head, deflatedZeros(zeros, prefix), tail]);
}

/** An .npz holding one float32 array of `n` zeros, deflated at deflate's best ratio. */
export function npzZerosBomb(n: number): Buffer {
  const header = npyRaw(`{'descr': '<f4', 'fortran_order': False, 'shape': (${n},), }`);
  return buildZip([{ name: 'w.npy', data: Buffer.alloc(0), deflated: { payload: deflatedZeros(4 * n, header), size: header.length + 4 * n } }], {
    zip64: 4 * n >= 2 ** 32,
  });
}

/** A torch zip whose one float32 storage of `n` zeros is deflated at deflate's best ratio. */
export function ptZerosBomb(n: number): Buffer {
  const pkl = stateDictOf([['w', viewTensor('0', n, 0, [n], [1])]]);
  return buildZip(
    [
      { name: 'archive/data.pkl', data: pkl },
      { name: 'archive/byteorder', data: Buffer.from('little') },
      { name: 'archive/data/0', data: Buffer.alloc(0), deflated: { payload: deflatedZeros(4 * n), size: 4 * n } },
      { name: 'archive/version', data: Buffer.from('3\n') },
    ],
    { zip64: 4 * n >= 2 ** 32 },
  );
}

/** A MAT v5 file of `vars` miCOMPRESSED variables, each an n×1 double array of zeros (8n < 2^32). */
export function matZerosBomb(n: number, vars = 1): Buffer {
  const elements: Buffer[] = [];
  for (let v = 0; v < vars; v++) {
    // An empty miDOUBLE element, then its byte count and the matrix's patched and zeros inflated after them.
    const header = Buffer.from(matDouble(`z${v}`, [n, 1], []));
    header.writeUInt32LE(header.readUInt32LE(4) + 8 * n, 4);
    header.writeUInt32LE(8 * n, header.length - 4);
    elements.push(matCompressedRaw(zlibZeros(8 * n, header)));
  }
  return matFile(elements);
}
