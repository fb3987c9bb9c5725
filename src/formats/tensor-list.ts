/**
 * The one budget on how many tensors a reader describes as descriptor objects (every format
 * but safetensors, whose column table holds 10^6 within the memory promise). A descriptor
 * costs a few hundred bytes and each is statted, so a small hostile file of millions of
 * tiny tensors (ONNX initializers, GGUF tensor infos, MAT variables, HDF5 datasets) would
 * cost seconds and hundreds of MB; real models have at most a few 10^4 tensors.
 */
import { DiffaiError } from '../errors.js';
import type { TensorDescriptor } from './types.js';

export const MAX_DESCRIBED_TENSORS = 1 << 17;

/** A tensor array whose push refuses the file once it holds MAX_DESCRIBED_TENSORS. */
export class TensorList extends Array<TensorDescriptor> {
  /** The file named in the refusal; set by tensorList(). */
  private static paths = new WeakMap<TensorList, string>();

  override push(...items: TensorDescriptor[]): number {
    if (this.length + items.length > MAX_DESCRIBED_TENSORS) throw tooMany(TensorList.paths.get(this) ?? '');
    return super.push(...items);
  }

  static of_(path: string): TensorList {
    const list = new TensorList();
    TensorList.paths.set(list, path);
    return list;
  }
}

/** A new bounded tensor list for the file at `path`. */
export function tensorList(path: string): TensorDescriptor[] {
  return TensorList.of_(path);
}

export function tooMany(path: string): DiffaiError {
  return new DiffaiError(path, `more than ${MAX_DESCRIBED_TENSORS} tensors (real models have at most a few tens of thousands); refused`);
}
