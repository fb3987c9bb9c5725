/** A tiny protocol-buffers writer for hand-made (hostile) ONNX and TensorFlow files in tests. */

export function varint(n: number | bigint): number[] {
  let v = BigInt(n);
  if (v < 0n) v += 1n << 64n;
  const out: number[] = [];
  do {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? b | 0x80 : b);
  } while (v > 0n);
  return out;
}
export const key = (field: number, wire: number): number[] => varint(field * 8 + wire);
/** A length-delimited field. */
export const len = (field: number, payload: number[]): number[] => [...key(field, 2), ...varint(payload.length), ...payload];
/** A varint field. */
export const vint = (field: number, value: number | bigint): number[] => [...key(field, 0), ...varint(value)];
export const str = (field: number, s: string): number[] => len(field, [...Buffer.from(s)]);
