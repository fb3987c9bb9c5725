// Number#toString's text of a double, written as ASCII bytes (for the text module, index.ts). The digits are the
// shortest that read back as the same double, the closest of those to it, ties to even: Ryū
// (Ulf Adams, PLDI 2018; the reference C is github.com/ulfjack/ryu, d2s.c), which finds them
// with 128-bit fixed-point powers of five instead of big numbers. The layout (plain decimal
// from 1e-7 up to 1e21, exponent form outside) is ECMAScript's Number::toString.
//
// The powers-of-five tables are computed by initNumbers() from exact big integers (a few thousand
// operations), so nothing here is a copied table.

const POW5_INV_BITCOUNT: i32 = 125;
const POW5_BITCOUNT: i32 = 125;
const POW5_INV_COUNT: i32 = 342;
const POW5_COUNT: i32 = 326;

/** ⌊2^j / 5^i⌋ + 1 with j = bitlength(5^i) − 1 + 125, as (low, high) 64-bit words. */
const POW5_INV: usize = memory.data(POW5_INV_COUNT * 16, 16);
/** 5^i scaled to exactly 125 bits (truncated), as (low, high) words. */
const POW5: usize = memory.data(POW5_COUNT * 16, 16);
/** Where shortest() writes by default (the host copies from here): at most 25 bytes. */
const OUT: usize = memory.data(32, 16);
/** The digits of one number before they are laid out. */
const DIGITS: usize = memory.data(32, 16);
/** "00", "01", … "99": two digits per store. */
const PAIRS: usize = memory.data(200, 16);

// Big integers of 32-bit limbs, least significant first, for init() only.
const LIMBS: i32 = 32; // 1024 bits: 5^341 has 792, the divided power of two 928
const BIG: usize = memory.data(LIMBS * 4, 16);
const BIG2: usize = memory.data(LIMBS * 4, 16);
/** 2^INV_SHIFT, divided by 5 once per table entry. */
const INV_SHIFT: i32 = 928;

@inline function limb(big: usize, k: i32): u64 {
  return k >= 0 && k < LIMBS ? <u64>load<u32>(big + (<usize>k << 2)) : 0;
}

/** Bits s..s+63 of a big integer (s ≥ 0). */
function bits64(big: usize, s: i32): u64 {
  const k = s >> 5;
  const off = <u64>(s & 31);
  const low = (limb(big, k) | (limb(big, k + 1) << 32)) >> off;
  return off == 0 ? low : low | (limb(big, k + 2) << (64 - off));
}

function bitLength(big: usize): i32 {
  for (let k = LIMBS - 1; k >= 0; k--) {
    const v = load<u32>(big + (<usize>k << 2));
    if (v != 0) return (k << 5) + 32 - <i32>clz(v);
  }
  return 0;
}

function multiplyBy5(big: usize): void {
  let carry: u64 = 0;
  for (let k = 0; k < LIMBS; k++) {
    const p = <u64>load<u32>(big + (<usize>k << 2)) * 5 + carry;
    store<u32>(big + (<usize>k << 2), <u32>p);
    carry = p >> 32;
  }
}

function divideBy5(big: usize): void {
  let rest: u64 = 0;
  for (let k = LIMBS - 1; k >= 0; k--) {
    const cur = (rest << 32) | <u64>load<u32>(big + (<usize>k << 2));
    store<u32>(big + (<usize>k << 2), <u32>(cur / 5));
    rest = cur % 5;
  }
}

/**
 * Fills the tables. The inverse powers use ⌊⌊x/a⌋/b⌋ = ⌊x/(ab)⌋: ⌊2^928 / 5^i⌋ is kept by
 * dividing by 5 once per step, and ⌊2^j / 5^i⌋ is that shifted right by 928 − j.
 */
export function initNumbers(): void {
  for (let i = 0; i < 100; i++) {
    store<u8>(PAIRS + <usize>(2 * i), <u8>(48 + i / 10));
    store<u8>(PAIRS + <usize>(2 * i + 1), <u8>(48 + (i % 10)));
  }
  memory.fill(BIG, 0, LIMBS * 4);
  memory.fill(BIG2, 0, LIMBS * 4);
  store<u32>(BIG, 1); // 5^0
  store<u32>(BIG2 + (<usize>(INV_SHIFT >> 5) << 2), 1 << (INV_SHIFT & 31)); // 2^928
  for (let i = 0; i < POW5_INV_COUNT; i++) {
    const len = bitLength(BIG);
    if (i < POW5_COUNT) {
      let lo: u64;
      let hi: u64;
      if (len > POW5_BITCOUNT) {
        lo = bits64(BIG, len - POW5_BITCOUNT);
        hi = bits64(BIG, len - POW5_BITCOUNT + 64);
      } else {
        // Small powers fit in 128 bits: shift left to 125 bits (by 1..124).
        const t = <u64>(POW5_BITCOUNT - len);
        const l0 = bits64(BIG, 0);
        const h0 = bits64(BIG, 64);
        if (t >= 64) {
          hi = l0 << (t - 64);
          lo = 0;
        } else {
          hi = (h0 << t) | (l0 >> (64 - t));
          lo = l0 << t;
        }
      }
      store<u64>(POW5 + (<usize>i << 4), lo);
      store<u64>(POW5 + (<usize>i << 4), hi, 8);
    }
    const j = len - 1 + POW5_INV_BITCOUNT;
    let lo = bits64(BIG2, INV_SHIFT - j);
    let hi = bits64(BIG2, INV_SHIFT - j + 64);
    lo += 1;
    if (lo == 0) hi += 1;
    store<u64>(POW5_INV + (<usize>i << 4), lo);
    store<u64>(POW5_INV + (<usize>i << 4), hi, 8);
    multiplyBy5(BIG);
    divideBy5(BIG2);
  }
}

/** The high 64 bits of a × b. */
@inline function umulh(a: u64, b: u64): u64 {
  const aLo = a & 0xffffffff;
  const aHi = a >> 32;
  const bLo = b & 0xffffffff;
  const bHi = b >> 32;
  const b00 = aLo * bLo;
  const b01 = aLo * bHi;
  const b10 = aHi * bLo;
  const b11 = aHi * bHi;
  const mid1 = b10 + (b00 >> 32);
  const mid2 = b01 + (mid1 & 0xffffffff);
  return b11 + (mid1 >> 32) + (mid2 >> 32);
}

/** ⌊m × mul / 2^j⌋ for the 128-bit table entry at `entry`; m has at most 55 bits, 64 < j < 128. */
@inline function mulShift64(m: u64, entry: usize, j: i32): u64 {
  const mulLo = load<u64>(entry);
  const mulHi = load<u64>(entry, 8);
  const high0 = umulh(m, mulLo);
  const low1 = m * mulHi;
  let high1 = umulh(m, mulHi);
  const sum = high0 + low1;
  if (sum < high0) high1++;
  const dist = <u64>(j - 64);
  return (high1 << (64 - dist)) | (sum >> dist);
}

/** How many times 5 divides value (value ≠ 0). */
function pow5Factor(value: u64): u32 {
  let count: u32 = 0;
  for (;;) {
    value *= 14757395258967641293; // the inverse of 5 modulo 2^64
    if (value > 3689348814741910323) break; // ⌊2^64 / 5⌋: value was not a multiple of 5
    count++;
  }
  return count;
}

@inline function multipleOfPowerOf5(value: u64, p: u32): bool {
  return pow5Factor(value) >= p;
}

@inline function multipleOfPowerOf2(value: u64, p: u32): bool {
  return (value & ((<u64>1 << p) - 1)) == 0;
}

@inline function log10Pow2(e: i32): u32 {
  return (<u32>e * 78913) >> 18;
}

@inline function log10Pow5(e: i32): u32 {
  return (<u32>e * 732923) >> 20;
}

@inline function pow5bits(e: i32): i32 {
  return <i32>(((<u32>e * 1217359) >> 19) + 1);
}

function decimalLength17(v: u64): i32 {
  if (v >= 10000000000000000) return 17;
  if (v >= 1000000000000000) return 16;
  if (v >= 100000000000000) return 15;
  if (v >= 10000000000000) return 14;
  if (v >= 1000000000000) return 13;
  if (v >= 100000000000) return 12;
  if (v >= 10000000000) return 11;
  if (v >= 1000000000) return 10;
  if (v >= 100000000) return 9;
  if (v >= 10000000) return 8;
  if (v >= 1000000) return 7;
  if (v >= 100000) return 6;
  if (v >= 10000) return 5;
  if (v >= 1000) return 4;
  if (v >= 100) return 3;
  if (v >= 10) return 2;
  return 1;
}

// The decimal found by d2d: digits × 10^exponent.
let decimalDigits: u64 = 0;
let decimalExponent: i32 = 0;

/** Ryū's d2d: the shortest, closest decimal of a positive finite double, ties to even. */
function d2d(ieeeMantissa: u64, ieeeExponent: u32): void {
  let e2: i32;
  let m2: u64;
  if (ieeeExponent == 0) {
    e2 = 1 - 1023 - 52 - 2; // two more bits for the bounds
    m2 = ieeeMantissa;
  } else {
    e2 = <i32>ieeeExponent - 1023 - 52 - 2;
    m2 = (<u64>1 << 52) | ieeeMantissa;
  }
  const acceptBounds = (m2 & 1) == 0;
  const mv = 4 * m2;
  const mmShift: u64 = ieeeMantissa != 0 || ieeeExponent <= 1 ? 1 : 0;

  let vr: u64;
  let vp: u64;
  let vm: u64;
  let e10: i32;
  let vmIsTrailingZeros = false;
  let vrIsTrailingZeros = false;
  if (e2 >= 0) {
    const q = log10Pow2(e2) - (e2 > 3 ? 1 : 0);
    e10 = <i32>q;
    const k = POW5_INV_BITCOUNT + pow5bits(<i32>q) - 1;
    const i = -e2 + <i32>q + k;
    const entry = POW5_INV + (<usize>q << 4);
    vr = mulShift64(mv, entry, i);
    vp = mulShift64(mv + 2, entry, i);
    vm = mulShift64(mv - 1 - mmShift, entry, i);
    if (q <= 21) {
      // Only one of mp, mv and mm can be a multiple of 5, if any.
      const mvMod5 = <u32>(mv - 5 * (mv / 5));
      if (mvMod5 == 0) {
        vrIsTrailingZeros = multipleOfPowerOf5(mv, q);
      } else if (acceptBounds) {
        vmIsTrailingZeros = multipleOfPowerOf5(mv - 1 - mmShift, q);
      } else {
        vp -= multipleOfPowerOf5(mv + 2, q) ? 1 : 0;
      }
    }
  } else {
    const q = log10Pow5(-e2) - (-e2 > 1 ? 1 : 0);
    e10 = <i32>q + e2;
    const i = -e2 - <i32>q;
    const k = pow5bits(i) - POW5_BITCOUNT;
    const j = <i32>q - k;
    const entry = POW5 + (<usize>i << 4);
    vr = mulShift64(mv, entry, j);
    vp = mulShift64(mv + 2, entry, j);
    vm = mulShift64(mv - 1 - mmShift, entry, j);
    if (q <= 1) {
      // mv = 4·m2 has at least two trailing zero bits.
      vrIsTrailingZeros = true;
      if (acceptBounds) {
        vmIsTrailingZeros = mmShift == 1;
      } else {
        vp--;
      }
    } else if (q < 63) {
      vrIsTrailingZeros = multipleOfPowerOf2(mv, q);
    }
  }

  // The shortest decimal in the interval.
  let removed: i32 = 0;
  let lastRemovedDigit: u32 = 0;
  let output: u64;
  if (vmIsTrailingZeros || vrIsTrailingZeros) {
    // The general case (rare).
    for (;;) {
      const vpDiv10 = vp / 10;
      const vmDiv10 = vm / 10;
      if (vpDiv10 <= vmDiv10) break;
      const vmMod10 = <u32>(vm - 10 * vmDiv10);
      const vrDiv10 = vr / 10;
      const vrMod10 = <u32>(vr - 10 * vrDiv10);
      vmIsTrailingZeros = vmIsTrailingZeros && vmMod10 == 0;
      vrIsTrailingZeros = vrIsTrailingZeros && lastRemovedDigit == 0;
      lastRemovedDigit = vrMod10;
      vr = vrDiv10;
      vp = vpDiv10;
      vm = vmDiv10;
      removed++;
    }
    if (vmIsTrailingZeros) {
      for (;;) {
        const vmDiv10 = vm / 10;
        const vmMod10 = <u32>(vm - 10 * vmDiv10);
        if (vmMod10 != 0) break;
        const vpDiv10 = vp / 10;
        const vrDiv10 = vr / 10;
        const vrMod10 = <u32>(vr - 10 * vrDiv10);
        vrIsTrailingZeros = vrIsTrailingZeros && lastRemovedDigit == 0;
        lastRemovedDigit = vrMod10;
        vr = vrDiv10;
        vp = vpDiv10;
        vm = vmDiv10;
        removed++;
      }
    }
    // Round to even when the exact value is …50…0.
    if (vrIsTrailingZeros && lastRemovedDigit == 5 && vr % 2 == 0) lastRemovedDigit = 4;
    output = vr + ((vr == vm && (!acceptBounds || !vmIsTrailingZeros)) || lastRemovedDigit >= 5 ? 1 : 0);
  } else {
    // The common case: no trailing-zero bookkeeping, two digits at a time first.
    let roundUp = false;
    const vpDiv100 = vp / 100;
    const vmDiv100 = vm / 100;
    if (vpDiv100 > vmDiv100) {
      const vrDiv100 = vr / 100;
      const vrMod100 = <u32>(vr - 100 * vrDiv100);
      roundUp = vrMod100 >= 50;
      vr = vrDiv100;
      vp = vpDiv100;
      vm = vmDiv100;
      removed += 2;
    }
    for (;;) {
      const vpDiv10 = vp / 10;
      const vmDiv10 = vm / 10;
      if (vpDiv10 <= vmDiv10) break;
      const vrDiv10 = vr / 10;
      const vrMod10 = <u32>(vr - 10 * vrDiv10);
      roundUp = vrMod10 >= 5;
      vr = vrDiv10;
      vp = vpDiv10;
      vm = vmDiv10;
      removed++;
    }
    output = vr + (vr == vm || roundUp ? 1 : 0);
  }
  decimalDigits = output;
  decimalExponent = e10 + removed;
}

/**
 * Integers in [1, 2^53) are their own shortest digits (their neighbours are at most 1
 * apart), printed in full: decimalExponent 0. False when the double is not such an integer.
 */
function smallInteger(ieeeMantissa: u64, ieeeExponent: u32): bool {
  const m2 = (<u64>1 << 52) | ieeeMantissa;
  const e2 = <i32>ieeeExponent - 1023 - 52;
  if (e2 > 0 || e2 < -52) return false;
  if ((m2 & ((<u64>1 << <u64>-e2) - 1)) != 0) return false;
  decimalDigits = m2 >> <u64>-e2;
  decimalExponent = 0;
  return true;
}

@inline function pair(p: usize, v: u32): void {
  store<u16>(p, load<u16>(PAIRS + (<usize>v << 1)));
}

/** The `len` decimal digits of v (at most 17), most significant first, at DIGITS. */
function writeDigits(v: u64, len: i32): void {
  let p = DIGITS + <usize>len;
  let rest: u32;
  if (v >= 100000000) {
    const q = v / 100000000;
    const low = <u32>(v - q * 100000000);
    const hi4 = low / 10000;
    const lo4 = low - hi4 * 10000;
    pair(p - 2, lo4 % 100);
    pair(p - 4, lo4 / 100);
    pair(p - 6, hi4 % 100);
    pair(p - 8, hi4 / 100);
    p -= 8;
    rest = <u32>q; // < 10^9
  } else {
    rest = <u32>v;
  }
  digitsEndingAt(p, rest);
}

/** The decimal digits of v, written backwards so that the last one ends just before `end`. */
@inline function digitsEndingAt(end: usize, v: u32): void {
  let q = end;
  while (v >= 100) {
    const r = v / 100;
    q -= 2;
    pair(q, v - r * 100);
    v = r;
  }
  if (v >= 10) pair(q - 2, v);
  else store<u8>(q - 1, <u8>(48 + v));
}

/**
 * count bytes (at most 24) from `from` to `to`, 8 at a time: may write up to 7 bytes past
 * the end, which the caller's next bytes overwrite (every output area has that slack).
 */
@inline function copyBytes(to: usize, from: usize, count: i32): usize {
  for (let i = 0; i < count; i += 8) store<u64>(to + <usize>i, load<u64>(from + <usize>i));
  return to + <usize>count;
}

/** The decimal digits of v at p; returns the end. */
function writeU32(p: usize, v: u32): usize {
  let len: usize = 1;
  if (v >= 10) len = 2;
  if (v >= 100) len = 3;
  if (v >= 1000) len = 4;
  if (v >= 10000) len = 5;
  if (v >= 100000) len = 6;
  if (v >= 1000000) len = 7;
  if (v >= 10000000) len = 8;
  if (v >= 100000000) len = 9;
  if (v >= 1000000000) len = 10;
  const end = p + len;
  digitsEndingAt(end, v);
  return end;
}

function writeAscii(at: usize, text: string): usize {
  for (let i = 0; i < text.length; i++) store<u8>(at + <usize>i, <u8>text.charCodeAt(i));
  return at + <usize>text.length;
}

/** Address of the default output area (32 bytes). */
export function outPtr(): usize {
  return OUT;
}

/**
 * Writes Number#toString's text of x at `at` (25 bytes at most); returns its length.
 * initNumbers() must have run.
 */
export function shortest(x: f64, at: usize): i32 {
  const bits = reinterpret<u64>(x);
  const sign = (bits >> 63) != 0;
  const ieeeMantissa = bits & ((<u64>1 << 52) - 1);
  const ieeeExponent = <u32>((bits >> 52) & 0x7ff);
  let p = at;
  if (ieeeExponent == 0x7ff) {
    if (ieeeMantissa != 0) return <i32>(writeAscii(p, 'NaN') - at);
    if (sign) store<u8>(p++, 45);
    return <i32>(writeAscii(p, 'Infinity') - at);
  }
  if (ieeeExponent == 0 && ieeeMantissa == 0) {
    store<u8>(p, 48); // ±0 is "0"
    return 1;
  }
  if (smallInteger(ieeeMantissa, ieeeExponent)) {
    // Integers below 2^53: their digits in full (below 2^32 without the 64-bit steps).
    if (sign) store<u8>(p++, 45);
    if (decimalDigits <= 0xffffffff) return <i32>(writeU32(p, <u32>decimalDigits) - at);
    const k = decimalLength17(decimalDigits);
    writeDigits(decimalDigits, k);
    return <i32>(copyBytes(p, DIGITS, k) - at);
  }
  d2d(ieeeMantissa, ieeeExponent);
  const k = decimalLength17(decimalDigits);
  writeDigits(decimalDigits, k);
  // value = 0.d1d2…dk × 10^n
  const n = decimalExponent + k;
  if (sign) store<u8>(p++, 45);
  if (k <= n && n <= 21) {
    p = copyBytes(p, DIGITS, k);
    for (let z = k; z < n; z++) store<u8>(p++, 48);
  } else if (0 < n && n <= 21) {
    p = copyBytes(p, DIGITS, n);
    store<u8>(p++, 46);
    p = copyBytes(p, DIGITS + <usize>n, k - n);
  } else if (-6 < n && n <= 0) {
    store<u8>(p++, 48);
    store<u8>(p++, 46);
    for (let z = n; z < 0; z++) store<u8>(p++, 48);
    p = copyBytes(p, DIGITS, k);
  } else {
    store<u8>(p++, load<u8>(DIGITS));
    if (k > 1) {
      store<u8>(p++, 46);
      p = copyBytes(p, DIGITS + 1, k - 1);
    }
    store<u8>(p++, 101); // e
    let e = n - 1;
    store<u8>(p++, e < 0 ? 45 : 43);
    if (e < 0) e = -e;
    if (e >= 100) {
      store<u8>(p++, <u8>(48 + e / 100));
      e %= 100;
      store<u8>(p++, <u8>(48 + e / 10));
    } else if (e >= 10) {
      store<u8>(p++, <u8>(48 + e / 10));
    }
    store<u8>(p++, <u8>(48 + (e % 10)));
  }
  return <i32>(p - at);
}
