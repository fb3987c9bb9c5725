/**
 * NumPy `.npy` (one array, named `array`) and `.npz` (a zip of .npy entries, names without
 * `.npy`). Stored npz entries are described in place; deflated entries are described as a
 * raw-deflate stream whose first `skip` bytes are the .npy header. Non-numeric arrays
 * (strings) become leaves when small; object, structured and exotic arrays are skipped
 * with a warning.
 */
import { DiffaiError } from '../../errors.js';
import { RandomAccessFile } from '../../io/file.js';
import { InflatedRegion } from '../../io/inflate.js';
import { FileRegion, type ByteRegion } from '../../io/range.js';
import { fortranView, type FormatReader, type LeafValue, type ModelDescription, type TensorDescriptor } from '../types.js';
import { firstLocalName, readZipDirectory, ZIP_METHOD_DEFLATE, ZIP_METHOD_STORED } from '../zip/zip.js';
import { decodeStringArray, isNpyMagic, parseNpyHeader, type NpyHeader } from './header.js';
import { warningList } from '../warnings.js';
import { tensorList } from '../tensor-list.js';
import { LeafTextBudget, MAX_LEAF_TEXT_BYTES } from '../leaf-text.js';

/** String arrays larger than this are not turned into leaves. */
const MAX_STRING_LEAF_BYTES = 1024 * 1024;

interface ArrayResult {
  tensor?: TensorDescriptor;
  leaf?: LeafValue;
  warning?: string;
}

/** Describes the array behind `r` (whose header is already parsed) as a tensor, a leaf or a warning. */
async function describeArray(r: ByteRegion, h: NpyHeader, name: string, what: string, text: LeafTextBudget): Promise<ArrayResult> {
  switch (h.kind) {
    case 'numeric': {
      const view = h.fortran ? fortranView(h.shape) : undefined;
      const tensor: TensorDescriptor = {
        name,
        dtype: h.dtype!,
        shape: h.shape,
        numel: h.numel,
        source: r.source(h.dataOffset, h.dataLength),
        byteOrder: h.byteOrder,
      };
      if (view) tensor.view = view;
      return { tensor };
    }
    case 'unicode':
    case 'bytes': {
      if (h.dataLength > MAX_STRING_LEAF_BYTES || h.numel > MAX_STRING_LEAF_BYTES) {
        return { warning: `${what}string array ${h.descr} [${h.shape.join(', ')}] of ${h.dataLength} bytes skipped (over ${MAX_STRING_LEAF_BYTES} bytes)` };
      }
      if (!text.take(h.dataLength))
        return { warning: `${what}string array ${h.descr} [${h.shape.join(', ')}] skipped (the file's string arrays are over ${MAX_LEAF_TEXT_BYTES} bytes)` };
      const data = await r.read(h.dataOffset, h.dataLength);
      try {
        return { leaf: decodeStringArray(h, data) };
      } catch {
        return { warning: `${what}string array ${h.descr} holds invalid characters; skipped` };
      }
    }
    case 'object':
      return { warning: `${what}object array (pickled Python objects, shape [${h.shape.join(', ')}]) skipped; it is not read, for safety` };
    default:
      return { warning: `${what}array of ${h.reason ?? h.descr} skipped (not supported)` };
  }
}

export const numpyReader: FormatReader = {
  name: 'numpy',
  sniff(head: Uint8Array): boolean {
    return isNpyMagic(head);
  },
  async describe(path: string): Promise<ModelDescription> {
    const file = RandomAccessFile.open(path);
    try {
      const r = new FileRegion(file, 0, file.size, '');
      const h = await parseNpyHeader(r, path, '');
      const desc: ModelDescription = { path, format: 'numpy', tensors: [], leaves: Object.create(null), warnings: warningList() };
      const res = await describeArray(r, h, 'array', '', new LeafTextBudget());
      if (res.tensor) desc.tensors.push(res.tensor);
      if (res.leaf !== undefined) desc.leaves['array'] = res.leaf;
      if (res.warning) desc.warnings.push(`array: ${res.warning}`);
      if (h.dataLength >= 0) {
        const extra = file.size - h.dataOffset - h.dataLength;
        if (extra > 0) desc.warnings.push(`${extra} trailing bytes after the array data ignored`);
      }
      return desc;
    } finally {
      file.close();
    }
  },
};

function isZipLocal(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
}

export const npzReader: FormatReader = {
  name: 'npz',
  sniff(head: Uint8Array, path: string): boolean {
    const isEmptyZip = head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x05 && head[3] === 0x06;
    if (!isZipLocal(head) && !isEmptyZip) return false;
    const first = isZipLocal(head) ? firstLocalName(head) : undefined;
    if (first?.complete) return first.name.endsWith('.npy');
    if (first && !first.complete) {
      // The name runs past the sniffed head: read it.
      try {
        const f = RandomAccessFile.open(path);
        try {
          const whole = firstLocalName(f.readUpTo(0, 30 + first.nameLength));
          if (whole?.complete) return whole.name.endsWith('.npy');
        } finally {
          f.close();
        }
      } catch {
        /* fall through to the extension */
      }
    }
    // A zip too broken to name its first entry: claim it by extension so the message is about npz.
    return /\.npz$/i.test(path);
  },
  async describe(path: string): Promise<ModelDescription> {
    const file = RandomAccessFile.open(path);
    try {
      const dir = readZipDirectory(file);
      const desc: ModelDescription = { path, format: 'npz', tensors: tensorList(path), leaves: Object.create(null), warnings: warningList() };
      const seen = new Set<string>();
      const text = new LeafTextBudget();
      for (const e of dir.entries) {
        if (e.name.endsWith('/')) continue; // a directory entry
        if (!e.name.endsWith('.npy')) {
          desc.warnings.push(`entry '${e.name}' is not a .npy array; skipped`);
          continue;
        }
        const name = e.name.slice(0, -4);
        const what = `npz entry '${e.name}': `;
        if (seen.has(name)) throw new DiffaiError(path, `${what}duplicate entry name`);
        seen.add(name);
        let r: ByteRegion;
        if (e.method === ZIP_METHOD_STORED) {
          if (e.compressedSize !== e.uncompressedSize) {
            throw new DiffaiError(path, `${what}stored entry has compressed size ${e.compressedSize} but uncompressed size ${e.uncompressedSize}`);
          }
          r = new FileRegion(file, e.dataOffset, e.uncompressedSize, what);
        } else if (e.method === ZIP_METHOD_DEFLATE) {
          r = new InflatedRegion(file, e.dataOffset, e.compressedSize, 'raw', what);
        } else {
          desc.warnings.push(`${what}unsupported compression method ${e.method}; skipped`);
          continue;
        }
        try {
          const h = await parseNpyHeader(r, path, what, e.uncompressedSize);
          const res = await describeArray(r, h, name, what, text);
          if (res.tensor) desc.tensors.push(res.tensor);
          if (res.leaf !== undefined) desc.leaves[name] = res.leaf;
          if (res.warning) desc.warnings.push(res.warning);
        } finally {
          r.close();
        }
      }
      return desc;
    } finally {
      file.close();
    }
  },
};
