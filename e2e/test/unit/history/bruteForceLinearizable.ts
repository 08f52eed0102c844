// The reference the checker's soundness is measured against: an exhaustive search
// for a linearization of a small single-key history under exactly the model that
// checkHistory.ts documents. Exponential, so only for histories of a dozen ops.
import type { OpRecord } from '../../../src/history/index.js';

interface Item {
  kind: 'write' | 'delete' | 'read' | 'expiry';
  start: number;
  /** Infinity for effects that may come arbitrarily late (unknown, pending, expiry). */
  end: number;
  value?: string;
  readValue?: string | null;
  /** For an expiry: the item of the write it expires. */
  write?: number;
}

/**
 * Whether some total order of the history's effects respects real time (Y before X
 * whenever Y's end < X's start) and the register semantics. An unknown or pending
 * mutation and a TTL expiry may take effect at any instant from their start on;
 * "never" is the same as last, after every read, so all items are always placed.
 */
export function isLinearizable(ops: readonly OpRecord[]): boolean {
  const items: Item[] = [];
  for (const op of ops) {
    if (op.outcome === 'fail') continue;
    if (op.kind === 'read') {
      if (op.outcome !== 'ok') continue;
      items.push({ kind: 'read', start: op.invokedAt, end: op.completedAt!, readValue: op.readValue! });
      continue;
    }
    const end = op.outcome === 'ok' ? op.completedAt! : Infinity;
    items.push({ kind: op.kind, start: op.invokedAt, end, value: op.value });
    if (op.kind === 'write' && op.expiresAtMs !== undefined) {
      items.push({ kind: 'expiry', start: op.expiresAtMs, end: Infinity, write: items.length - 1 });
    }
  }
  if (items.length > 20) throw new Error('history too large for the brute force');
  const all = (1 << items.length) - 1;
  const dead = new Set<string>();

  const search = (placed: number, current: number): boolean => {
    if (placed === all) return true;
    const memo = `${placed},${current}`;
    if (dead.has(memo)) return false;
    for (let x = 0; x < items.length; x++) {
      if (placed & (1 << x)) continue;
      const it = items[x]!;
      let ready = true;
      for (let y = 0; y < items.length && ready; y++) {
        if (y !== x && !(placed & (1 << y)) && items[y]!.end < it.start) ready = false;
      }
      if (!ready) continue;
      let next = current;
      switch (it.kind) {
        case 'write':
          next = x;
          break;
        case 'delete':
          next = -1;
          break;
        case 'expiry':
          if (!(placed & (1 << it.write!))) continue;
          if (current === it.write) next = -1;
          break;
        case 'read': {
          const value = current === -1 ? null : items[current]!.value!;
          if (value !== it.readValue) continue;
          break;
        }
      }
      if (search(placed | (1 << x), next)) return true;
    }
    dead.add(memo);
    return false;
  };
  return search(0, -1);
}
