// Entry point of the text module (build/text.wasm, apart from the kernels): numbers as
// Number#toString writes them (number.ts) and output written from a tape (tape.ts).
import { initNumbers } from './number';
import { initTape, ops, numbers, bytes, texts, arena, out, OPS_CAPACITY, NUMBERS_CAPACITY, BYTES_CAPACITY, TEXTS_CAPACITY, ARENA_CAPACITY, OUT_CAPACITY } from './tape';

export { shortest, outPtr } from './number';
export { run } from './tape';

export function init(): void {
  initNumbers();
  initTape();
}

/** Where the host finds the regions: [ops, numbers, bytes, texts, arena, out] and their capacities, as 12 i32 at `layoutPtr()` after layout(). */
const LAYOUT: usize = memory.data(48, 16);

export function layout(): usize {
  store<i32>(LAYOUT, <i32>ops);
  store<i32>(LAYOUT, <i32>numbers, 4);
  store<i32>(LAYOUT, <i32>bytes, 8);
  store<i32>(LAYOUT, <i32>texts, 12);
  store<i32>(LAYOUT, <i32>arena, 16);
  store<i32>(LAYOUT, <i32>out, 20);
  store<i32>(LAYOUT, OPS_CAPACITY, 24);
  store<i32>(LAYOUT, NUMBERS_CAPACITY, 28);
  store<i32>(LAYOUT, BYTES_CAPACITY, 32);
  store<i32>(LAYOUT, TEXTS_CAPACITY, 36);
  store<i32>(LAYOUT, ARENA_CAPACITY, 40);
  store<i32>(LAYOUT, OUT_CAPACITY - 64, 44);
  return LAYOUT;
}
