/**
 * The one budget on how many tensors a reader describes as descriptor objects (every format
 * but safetensors, whose column table holds 10^6 within the memory promise). A descriptor
 * costs a few hundred bytes and each is statted, so a small hostile file of millions of
 * tiny tensors (ONNX initializers, GGUF tensor infos, MAT variables, HDF5 datasets) would
 * cost seconds and hundreds of MB; real models have at most a few 10^4 tensors.
 *
 * The same list budgets the text of the names: readers that compose names from nested
 * groups (HDF5, MATLAB structs and cells, pickled checkpoints) turn a long group name
 * stored once into the prefix of every name below it, so 2 MB of file could name 2,000
 * tensors with 60 × 30,000 characters each (3.6 GB of names). Real names total a few MB.
 */
import { DiffaiError } from '../errors.js';
import type { TensorDescriptor } from './types.js';

export const MAX_DESCRIBED_TENSORS = 1 << 17;

/**
 * Entries other than tensors (metadata keys, non-tensor leaves of a checkpoint) one
 * description may hold: each costs a string and work in every later step (model view,
 * aliases, rendering, comparing), and real files have a few hundred; 10^6 safetensors
 * `__metadata__` keys in 30 MB took 50 s and 950 MB to inspect.
 */
export const MAX_DESCRIBED_ENTRIES = 1 << 16;

/** Characters all the names of one description may hold (tensors and the entries readers name alike). */
export const MAX_NAME_TEXT = 32 << 20;

/** A tensor array whose push refuses the file once it holds MAX_DESCRIBED_TENSORS or MAX_NAME_TEXT. */
export class TensorList extends Array<TensorDescriptor> {
  /** The file named in the refusal, and the name text taken so far; set by tensorList(). */
  private static state = new WeakMap<TensorList, { path: string; nameText: number }>();

  override push(...items: TensorDescriptor[]): number {
    if (this.length + items.length > MAX_DESCRIBED_TENSORS) throw tooMany(this.path);
    for (const t of items) this.chargeName(t.name);
    return super.push(...items);
  }

  /** Counts `name` (a tensor's, or an entry's named the same way) against the name budget. */
  chargeName(name: string): void {
    const s = TensorList.state.get(this);
    if (s === undefined) return;
    s.nameText += name.length; // a cons string's length: no flattening of a long composed name
    if (s.nameText > MAX_NAME_TEXT) throw namesTooLong(s.path);
  }

  private get path(): string {
    return TensorList.state.get(this)?.path ?? '';
  }

  static of_(path: string): TensorList {
    const list = new TensorList();
    TensorList.state.set(list, { path, nameText: 0 });
    return list;
  }
}

/** A new bounded tensor list for the file at `path`. */
export function tensorList(path: string): TensorDescriptor[] {
  return TensorList.of_(path);
}

/**
 * Counts the name of an entry that is not a tensor (a MATLAB char array, an attribute)
 * against the name budget of `tensors` when that is a bounded list.
 */
export function chargeName(tensors: TensorDescriptor[], name: string): void {
  if (tensors instanceof TensorList) tensors.chargeName(name);
}

export function tooMany(path: string): DiffaiError {
  return new DiffaiError(path, `more than ${MAX_DESCRIBED_TENSORS} tensors (real models have at most a few tens of thousands); refused`);
}

export function tooManyEntries(path: string): DiffaiError {
  return new DiffaiError(path, `more than ${MAX_DESCRIBED_ENTRIES} metadata entries (real files have at most a few thousand); refused`);
}

/** The refusal of a file whose names together pass MAX_NAME_TEXT. */
export function namesTooLong(path: string): DiffaiError {
  return new DiffaiError(path, namesTooLongMessage());
}

export function namesTooLongMessage(): string {
  return `tensor and entry names add up to more than ${MAX_NAME_TEXT >> 20} Mi characters (long group names repeated in nested names); refused`;
}
