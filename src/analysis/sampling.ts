/**
 * Seeded randomness for analyses that sample (k-means, neighbour queries, Procrustes rows):
 * the same files and options give the same sample and the same numbers on every run and
 * machine. The generator is mulberry32 (32-bit state, period 2^32), ample for drawing a
 * few thousand row indexes.
 */

/** The seed every sampling analysis uses (stated in their JSON as `seed`). */
export const SAMPLE_SEED = 12;

/** A generator of uniform numbers in [0, 1) from a 32-bit seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A uniform integer in [0, n). */
export function randomIndex(random: () => number, n: number): number {
  return Math.min(n - 1, Math.floor(random() * n));
}

/**
 * `size` distinct indexes of [0, n), ascending, drawn uniformly (Floyd's algorithm: `size`
 * draws, no array of n); all of them when size ≥ n.
 */
export function sampleIndices(n: number, size: number, seed: number): number[] {
  if (size >= n) return Array.from({ length: n }, (_, i) => i);
  const random = seededRandom(seed);
  const chosen = new Set<number>();
  for (let j = n - size; j < n; j++) {
    const t = randomIndex(random, j + 1);
    chosen.add(chosen.has(t) ? j : t);
  }
  return [...chosen].sort((x, y) => x - y);
}
