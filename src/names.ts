/**
 * The order names are shown in: natural order, where runs of digits compare as numbers
 * (`layers.2` before `layers.10`, `shard-9` before `shard-10`) and everything else by code
 * point; names that tie (`a.01` and `a.1`) fall back to code-point order, so the order is
 * total and does not depend on the input order.
 */
const RUNS = /\d+|\D+/g;

export function compareNames(x: string, y: string): number {
  if (x === y) return 0;
  const rx = x.match(RUNS) ?? [];
  const ry = y.match(RUNS) ?? [];
  const n = Math.min(rx.length, ry.length);
  for (let i = 0; i < n; i++) {
    const a = rx[i]!;
    const b = ry[i]!;
    if (a === b) continue;
    if (isDigit(a) && isDigit(b)) {
      const c = compareDigits(a, b);
      if (c !== 0) return c;
    } else {
      return a < b ? -1 : 1;
    }
  }
  if (rx.length !== ry.length) return rx.length - ry.length;
  return x < y ? -1 : 1;
}

function isDigit(run: string): boolean {
  const c = run.charCodeAt(0);
  return c >= 48 && c <= 57;
}

/** Numeric order of two digit runs of any length (no overflow: by length after leading zeros, then by text). */
function compareDigits(a: string, b: string): number {
  const x = a.replace(/^0+(?=\d)/, '');
  const y = b.replace(/^0+(?=\d)/, '');
  if (x.length !== y.length) return x.length - y.length;
  return x < y ? -1 : x > y ? 1 : 0;
}
