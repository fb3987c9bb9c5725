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

/**
 * compareNames over names held as UTF-8 bytes (x = a[as, ae), y = b[bs, be)), with exactly
 * the order compareNames gives the decoded strings, so a table of names kept as bytes sorts
 * and joins as the strings would. Digits are ASCII in both encodings, so the runs are the
 * same; text compares by byte, which is code-point order, except that UTF-16 puts the
 * characters above U+FFFF (4-byte sequences, lead F0–F4; surrogate pairs in UTF-16) before
 * U+E000–U+FFFF (lead EE, EF): utf16Order swaps just that. Names must be well-formed
 * UTF-8 (no encoded lone surrogates).
 */
export function compareNameBytes(a: Uint8Array, as: number, ae: number, b: Uint8Array, bs: number, be: number): number {
  const lx = ae - as;
  const ly = be - bs;
  const n = Math.min(lx, ly);
  let p = 0;
  while (p < n && a[as + p] === b[bs + p]) p++;
  if (p === lx && p === ly) return 0;
  if (p < n && (p === 0 || !isDigitByte(a[as + p - 1]!)) && !isDigitByte(a[as + p]!) && !isDigitByte(b[bs + p]!)) {
    return utf16Order(a[as + p]!, b[bs + p]!);
  }
  let start = p;
  if (start > 0) {
    const digit = isDigitByte(a[as + start - 1]!);
    while (start > 0 && isDigitByte(a[as + start - 1]!) === digit) start--;
  }
  // The digit run that holds p on both sides (`layers.12` against `layers.13`), when neither has
  // leading zeros: the numbers differ, the longer run is the larger, else the first differing digit decides.
  let digits = p;
  while (digits > 0 && isDigitByte(a[as + digits - 1]!)) digits--;
  if (p < n && isDigitByte(a[as + p]!) && isDigitByte(b[bs + p]!) && a[as + digits] !== 48 && b[bs + digits] !== 48) {
    let ex = as + p + 1;
    while (ex < ae && isDigitByte(a[ex]!)) ex++;
    let ey = bs + p + 1;
    while (ey < be && isDigitByte(b[ey]!)) ey++;
    if (ex - as !== ey - bs) return ex - as < ey - bs ? -1 : 1;
    return a[as + p]! < b[bs + p]! ? -1 : 1;
  }
  let i = as + start;
  let j = bs + start;
  let runsX = 0;
  let runsY = 0;
  while (i < ae && j < be) {
    const ei = byteRunEnd(a, i, ae);
    const ej = byteRunEnd(b, j, be);
    runsX++;
    runsY++;
    const c = isDigitByte(a[i]!) && isDigitByte(b[j]!) ? compareDigitBytes(a, i, ei, b, j, ej) : compareTextBytes(a, i, ei, b, j, ej);
    if (c !== 0) return c;
    i = ei;
    j = ej;
  }
  while (i < ae) {
    i = byteRunEnd(a, i, ae);
    runsX++;
  }
  while (j < be) {
    j = byteRunEnd(b, j, be);
    runsY++;
  }
  if (runsX !== runsY) return runsX - runsY;
  // Code-unit order of the whole names: decided at the first differing byte, or by length.
  return p < n ? utf16Order(a[as + p]!, b[bs + p]!) : lx < ly ? -1 : 1;
}

function isDigitByte(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * The order of two names' first differing bytes (at the same position of the same
 * character boundaries) as UTF-16 code units order the characters they start: byte order,
 * but a 4-byte lead (F0–F4, a surrogate pair) before a lead of U+E000–U+FFFF (EE, EF).
 */
function utf16Order(x: number, y: number): number {
  if (x >= 0xee && y >= 0xee && x >= 0xf0 !== y >= 0xf0) return x >= 0xf0 ? -1 : 1;
  return x < y ? -1 : 1;
}

function byteRunEnd(s: Uint8Array, i: number, end: number): number {
  const digit = isDigitByte(s[i]!);
  let k = i + 1;
  while (k < end && isDigitByte(s[k]!) === digit) k++;
  return k;
}

function compareTextBytes(x: Uint8Array, i: number, ei: number, y: Uint8Array, j: number, ej: number): number {
  const n = Math.min(ei - i, ej - j);
  for (let k = 0; k < n; k++) if (x[i + k] !== y[j + k]) return utf16Order(x[i + k]!, y[j + k]!);
  const lx = ei - i;
  const ly = ej - j;
  return lx === ly ? 0 : lx < ly ? -1 : 1;
}

function compareDigitBytes(x: Uint8Array, i: number, ei: number, y: Uint8Array, j: number, ej: number): number {
  while (i < ei - 1 && x[i] === 48) i++;
  while (j < ej - 1 && y[j] === 48) j++;
  if (ei - i !== ej - j) return ei - i - (ej - j);
  return compareTextBytes(x, i, ei, y, j, ej);
}
