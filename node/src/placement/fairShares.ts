/**
 * Fair shares of `total` units among nodes grouped in zones, by water-filling:
 * every node gets the same level, except where a node or its zone cannot hold
 * that much (a node holds each slot at most once, and a zone at most
 * `zoneCapacity[z]` replicas in all), whose nodes get what they can and the
 * rest is spread over the others. With balanced zones every share is
 * total / nodes.
 */
export function fairShares(
  total: number,
  zoneOf: Int32Array,
  zoneCapacity: readonly number[],
  perNodeCap: number,
): Float64Array {
  const n = zoneOf.length;
  const shares = new Float64Array(n);
  if (n === 0) return shares;
  const sizes = new Array<number>(zoneCapacity.length).fill(0);
  for (let i = 0; i < n; i++) sizes[zoneOf[i]!]!++;
  const limit = zoneCapacity.map((c, z) =>
    sizes[z]! === 0 ? Infinity : Math.min(perNodeCap, c / sizes[z]!),
  );
  const order = limit.map((_, z) => z).sort((a, b) => limit[a]! - limit[b]! || a - b);
  let remaining = total;
  let nodes = n;
  const level = new Array<number>(zoneCapacity.length).fill(0);
  let open = 0;
  for (; open < order.length; open++) {
    const z = order[open]!;
    if (sizes[z] === 0) continue;
    const even = remaining / nodes;
    if (limit[z]! >= even) break;
    level[z] = limit[z]!;
    remaining -= limit[z]! * sizes[z]!;
    nodes -= sizes[z]!;
  }
  const even = nodes > 0 ? remaining / nodes : 0;
  for (; open < order.length; open++) level[order[open]!] = Math.min(even, perNodeCap);
  for (let i = 0; i < n; i++) shares[i] = level[zoneOf[i]!]!;
  return shares;
}
