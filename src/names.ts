/**
 * The order names are shown in: natural order, where runs of digits compare as numbers
 * (`layers.2` before `layers.10`, `shard-9` before `shard-10`) and everything else by code
 * point; names that tie (`a.01` and `a.1`) fall back to code-point order, so the order is
 * total and does not depend on the input order.
 *
 * Runs are walked in place (no arrays or substrings): sorting and order checks of a
 * million-tensor file call this millions of times.
 */
export function compareNames(x: string, y: string): number {
  if (x === y) return 0;
  // Runs before the first differing code unit are the same on both sides: start at the run
  // that holds it (its start is the same in both names).
  const n = Math.min(x.length, y.length);
  let p = 0;
  while (p < n && x.charCodeAt(p) === y.charCodeAt(p)) p++;
  if (p < n && (p === 0 || !isDigitAt(x, p - 1)) && !isDigitAt(x, p) && !isDigitAt(y, p)) {
    // Inside a run of non-digits on both sides: the runs compare as text, decided here.
    return x.charCodeAt(p) < y.charCodeAt(p) ? -1 : 1;
  }
  let start = p;
  if (start > 0) {
    const digit = isDigitAt(x, start - 1);
    while (start > 0 && isDigitAt(x, start - 1) === digit) start--;
  }
  let i = start;
  let j = start;
  let runsX = 0;
  let runsY = 0;
  while (i < x.length && j < y.length) {
    const ei = runEnd(x, i);
    const ej = runEnd(y, j);
    runsX++;
    runsY++;
    const c = isDigitAt(x, i) && isDigitAt(y, j) ? compareDigits(x, i, ei, y, j, ej) : compareText(x, i, ei, y, j, ej);
    if (c !== 0) return c;
    i = ei;
    j = ej;
  }
  // Equal so far: the name with fewer runs first, then code-point order.
  while (i < x.length) {
    i = runEnd(x, i);
    runsX++;
  }
  while (j < y.length) {
    j = runEnd(y, j);
    runsY++;
  }
  if (runsX !== runsY) return runsX - runsY;
  return x < y ? -1 : 1;
}

function isDigitAt(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c >= 48 && c <= 57;
}

/** End of the run (all digits or all non-digits) that starts at `i`. */
function runEnd(s: string, i: number): number {
  const digit = isDigitAt(s, i);
  let k = i + 1;
  while (k < s.length && isDigitAt(s, k) === digit) k++;
  return k;
}

/** Two runs as strings, by UTF-16 code unit (what `<` on the run substrings does). */
function compareText(x: string, i: number, ei: number, y: string, j: number, ej: number): number {
  const n = Math.min(ei - i, ej - j);
  for (let k = 0; k < n; k++) {
    const d = x.charCodeAt(i + k) - y.charCodeAt(j + k);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  const lx = ei - i;
  const ly = ej - j;
  return lx === ly ? 0 : lx < ly ? -1 : 1;
}

/** Numeric order of two digit runs of any length (no overflow: by length after leading zeros, then by text); 0 when equal in value. */
function compareDigits(x: string, i: number, ei: number, y: string, j: number, ej: number): number {
  while (i < ei - 1 && x.charCodeAt(i) === 48) i++;
  while (j < ej - 1 && y.charCodeAt(j) === 48) j++;
  if (ei - i !== ej - j) return ei - i - (ej - j);
  return compareText(x, i, ei, y, j, ej);
}
