/**
 * Natural name order (`layers.2` before `layers.10`), as the tests expect diffai to print
 * names, computed another way than src/names.ts: every run of digits zero-padded to 32
 * places, then code-point order (ties by the names themselves).
 */
const key = (name: string) => name.replace(/\d+/g, (digits) => digits.padStart(32, '0'));

export function naturally(a: string, b: string): number {
  const [x, y] = [key(a), key(b)];
  if (x !== y) return x < y ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
