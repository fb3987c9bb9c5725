/**
 * A raw GGUF writer for hostile-file tests: every count, length, type and offset is written
 * as given (bigints allowed), so a test can state exactly which field lies.
 */
type Num = number | bigint;

export interface RawKv {
  key: string;
  /** GGUF value type id. */
  type: number;
  /** The value's bytes, already encoded. */
  value: Buffer;
  /** Overrides the key's length field. */
  keyLength?: Num;
}

export interface RawTensor {
  name: string;
  dims: Num[];
  /** ggml type id. */
  type: number;
  offset: Num;
  nDims?: number;
}

export interface RawGguf {
  version?: number;
  tensorCount?: Num;
  kvCount?: Num;
  kvs?: RawKv[];
  tensors?: RawTensor[];
  /** Bytes of tensor data after the aligned header. */
  data?: number;
  alignment?: number;
}

export const u32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
};
export const u64 = (v: Num): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return b;
};
export const str = (s: string, length?: Num): Buffer => {
  const bytes = Buffer.from(s, 'utf8');
  return Buffer.concat([u64(length ?? bytes.length), bytes]);
};

/** Value encoders for RawKv.value. */
export const V = {
  u32: (v: number) => ({ type: 4, value: u32(v) }),
  string: (s: string, length?: Num) => ({ type: 8, value: str(s, length) }),
  array: (itemType: number, count: Num, items: Buffer) => ({ type: 9, value: Buffer.concat([u32(itemType), u64(count), items]) }),
};

export function ggufBytes(g: RawGguf): Buffer {
  const kvs = g.kvs ?? [];
  const tensors = g.tensors ?? [];
  const parts: Buffer[] = [Buffer.from('GGUF'), u32(g.version ?? 3), u64(g.tensorCount ?? tensors.length), u64(g.kvCount ?? kvs.length)];
  for (const kv of kvs) parts.push(str(kv.key, kv.keyLength), u32(kv.type), kv.value);
  for (const t of tensors) {
    parts.push(str(t.name), u32(t.nDims ?? t.dims.length), ...t.dims.map((d) => u64(d)), u32(t.type), u64(t.offset));
  }
  let head = Buffer.concat(parts);
  const align = g.alignment ?? 32;
  head = Buffer.concat([head, Buffer.alloc((align - (head.length % align)) % align)]);
  return Buffer.concat([head, Buffer.alloc(g.data ?? 0, 0x11)]);
}
