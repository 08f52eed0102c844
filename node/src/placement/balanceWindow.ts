const EPS = 1e-9;

/** Per-node bounds on counts: every node's count over its share in [m, ratio * m]. */
export interface BalanceWindow {
  m: number;
  lo: Int32Array;
  hi: Int32Array;
  /** Units some node must gain to get from `before` into the window (the moves it forces). */
  cost: number;
}

/**
 * The balance window that forces the fewest moves: the m for which bringing
 * every count into [ceil(m * share), floor(ratio * m * share)] (and at most
 * `cap`), with the counts adding up to `total`, needs the fewest units gained
 * (a unit a node has more than `before` had to come from somewhere; units of
 * departed nodes are not in `before`, so whoever takes them gains them).
 *
 * Exact: the bounds only change where m crosses k / share or
 * k / (ratio * share), and between two such points the bounds at the right
 * end are at least as loose, so trying every such point finds the minimum.
 * Among windows that cost at most `costSlack` (a fraction) more than the
 * cheapest, it takes the one nearest to centred on the fair shares (a
 * centred window leaves room on both sides for the next change, and lets a
 * change take from fewer nodes), or with `prefer: 'fewest-outside'` the one
 * that leaves the fewest nodes outside it (then the most centred). `cost` is always the cheapest window's.
 * Returns undefined when no window can hold `total`.
 */
export function balanceWindow(
  before: ArrayLike<number>,
  shares: ArrayLike<number>,
  total: number,
  ratio: number,
  cap: number,
  costSlack = 0,
  prefer: 'centre' | 'fewest-outside' = 'centre',
): BalanceWindow | undefined {
  const n = before.length;
  if (n === 0) return undefined;
  let sumShares = 0;
  for (let i = 0; i < n; i++) sumShares += shares[i]!;
  if (sumShares <= 0) return undefined;
  const costAt = (m: number): number => {
    let lowSum = 0;
    let highSum = 0;
    let gains = 0;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const lo = Math.ceil(m * shares[i]! - EPS);
      const hi = Math.min(cap, Math.floor(ratio * m * shares[i]! + EPS));
      if (lo > hi) return Infinity;
      lowSum += lo;
      highSum += hi;
      const b = before[i]!;
      const t = b < lo ? lo : b > hi ? hi : b;
      if (t > b) gains += t - b;
      sum += t;
    }
    if (lowSum > total || highSum < total) return Infinity;
    // Too much: lower counts toward their floors (free). Too little: raise some (each unit a gain).
    return sum >= total ? gains : gains + (total - sum);
  };
  const mLow = total / (ratio * sumShares) - EPS;
  const mHigh = total / sumShares + EPS;
  const centre = (2 * total) / ((1 + ratio) * sumShares);
  const candidates = new Set<number>();
  for (let i = 0; i < n; i++) {
    const w = shares[i]!;
    if (w <= 0) continue;
    for (const scale of [1, ratio]) {
      const kFrom = Math.floor(mLow * scale * w);
      const kTo = Math.ceil(mHigh * scale * w);
      for (let k = kFrom; k <= kTo; k++) {
        const m = k / (scale * w);
        if (m >= mLow && m <= mHigh) candidates.add(m);
      }
    }
  }
  const costs = new Map<number, number>();
  let minCost = Infinity;
  for (const m of candidates) {
    const c = costAt(m);
    costs.set(m, c);
    if (c < minCost) minCost = c;
  }
  if (minCost === Infinity) return undefined;
  const limit = minCost * (1 + costSlack) + EPS;
  let bestM = -1;
  const outside = (m: number): number => {
    let k = 0;
    for (let i = 0; i < n; i++) {
      const b = before[i]!;
      if (b < Math.ceil(m * shares[i]! - EPS) || b > Math.min(cap, Math.floor(ratio * m * shares[i]! + EPS)))
        k++;
    }
    return k;
  };
  let bestOutside = Infinity;
  for (const [m, c] of costs) {
    if (c > limit) continue;
    if (prefer === 'fewest-outside') {
      const k = outside(m);
      if (k > bestOutside) continue;
      if (k < bestOutside) {
        bestOutside = k;
        bestM = m;
        continue;
      }
    }
    const d = Math.abs(m - centre) - Math.abs(bestM - centre);
    if (bestM < 0 || d < -EPS || (Math.abs(d) <= EPS && m < bestM)) bestM = m;
  }
  if (bestM < 0) return undefined;
  const lo = new Int32Array(n);
  const hi = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    lo[i] = Math.ceil(bestM * shares[i]! - EPS);
    hi[i] = Math.min(cap, Math.floor(ratio * bestM * shares[i]! + EPS));
  }
  return { m: bestM, lo, hi, cost: minCost };
}
