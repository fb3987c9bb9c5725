/**
 * Coalescing of byte ranges into few requests: ranges closer than `maxGap` merge (the gap is
 * fetched and thrown away, cheaper than another round trip), but no merged range grows past
 * `maxLength` (a single range longer than that stays one range of its own).
 */
export interface CoalesceLimits {
  /** Largest gap between two ranges that still merges them (bytes). */
  maxGap: number;
  /** Largest merged range (bytes). */
  maxLength: number;
}

/** Sorted, merged `[start, end)` ranges covering every input range (empty ones dropped). */
export function coalesceRanges(ranges: ReadonlyArray<readonly [number, number]>, limits: CoalesceLimits): Array<[number, number]> {
  const sorted = ranges.filter(([s, e]) => e > s).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  const out: Array<[number, number]> = [];
  for (const [start, end] of sorted) {
    const last = out[out.length - 1];
    if (last && start <= last[1] + limits.maxGap && Math.max(end, last[1]) - last[0] <= limits.maxLength) last[1] = Math.max(last[1], end);
    else if (last && start < last[1])
      last[1] = Math.max(last[1], end); // overlapping: one range even past the limit
    else out.push([start, end]);
  }
  return out;
}

/** Runs `task` over `items` with at most `limit` running at once; results in item order. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const run = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
  return results;
}
