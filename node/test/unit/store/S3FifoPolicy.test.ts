import { describe, expect, it } from '@jest/globals';
import { Entry } from '../../../src/store/Entry.js';
import { S3FifoPolicy } from '../../../src/store/S3FifoPolicy.js';
import { GhostQueue } from '../../../src/store/GhostQueue.js';

const entry = (key: string): Entry => new Entry(key, 'v', 0, 0, 0, 10);

/** A policy with room for 100 entries of 10 bytes: the small FIFO targets 10 of them. */
function setup(): { policy: S3FifoPolicy; insert: (key: string) => Entry } {
  const policy = new S3FifoPolicy(1000);
  return {
    policy,
    insert: (key) => {
      const e = entry(key);
      policy.onInsert(e);
      return e;
    },
  };
}

describe('S3FifoPolicy', () => {
  it('admits new keys to the small FIFO and counts accesses up to 3', () => {
    const { policy, insert } = setup();
    const a = insert('a');
    expect(policy.smallCount).toBe(1);
    expect(policy.mainCount).toBe(0);
    for (let i = 0; i < 10; i++) policy.onAccess(a);
    expect(a.freq).toBe(3);
  });

  it('evicts unread entries from the small FIFO in insertion order', () => {
    const { policy, insert } = setup();
    const es = Array.from({ length: 12 }, (_, i) => insert(`k${i}`));
    expect(policy.evict()).toBe(es[0]);
    expect(policy.evict()).toBe(es[1]);
    expect(policy.smallCount).toBe(10);
    expect(es[0]!.queue).toBe(0);
  });

  it('promotes entries read while in the small FIFO to the main FIFO', () => {
    const { policy, insert } = setup();
    const es = Array.from({ length: 12 }, (_, i) => insert(`k${i}`));
    policy.onAccess(es[0]!);
    policy.onAccess(es[1]!);
    // k0 and k1 move to main (their counters reset), k2 is the victim.
    expect(policy.evict()).toBe(es[2]);
    expect(policy.mainCount).toBe(2);
    expect(es[0]!.freq).toBe(0);
    expect(policy.smallCount).toBe(9);
  });

  it('sends keys evicted from the small FIFO to the ghost, and readmits them straight to main', () => {
    const { policy, insert } = setup();
    const hot = Array.from({ length: 11 }, (_, i) => insert(`hot${i}`));
    for (const e of hot) policy.onAccess(e);
    // Fill the small FIFO past its 100-byte target and evict: every hot entry
    // moves to main, then the oldest cold one is evicted into the ghost.
    const cold = Array.from({ length: 10 }, (_, i) => insert(`cold${i}`));
    expect(policy.evict()).toBe(cold[0]);
    expect(policy.mainCount).toBe(11);
    const back = insert('cold0');
    expect(policy.mainCount).toBe(12); // ghost hit: admitted to main
    expect(back.queue).not.toBe(cold[1]!.queue);
    const fresh = insert('never-seen');
    expect(fresh.queue).toBe(cold[1]!.queue); // small
    // A ghost hit is consumed.
    policy.onRemove(back);
    insert('cold0');
    expect(policy.mainCount).toBe(11);
  });

  it('gives main entries read since they last reached the tail another round', () => {
    const { policy, insert } = setup();
    const [a, b, c] = [insert('a'), insert('b'), insert('c')];
    for (const e of [a, b, c]) policy.onAccess(e);
    const cold = Array.from({ length: 10 }, (_, i) => insert(`k${i}`));
    // Small holds 130 bytes (>= 100): a, b, c were read, so they move to main
    // (counters reset), and k0, never read, is the victim.
    expect(policy.evict()).toBe(cold[0]);
    expect(policy.mainCount).toBe(3);
    // Small is now under its target, so victims come from main, FIFO.
    policy.onAccess(b); // b gets a second chance, a and c do not
    expect(policy.evict()).toBe(a);
    expect(policy.evict()).toBe(c);
    expect(b.freq).toBe(0);
    expect(policy.evict()).toBe(b);
    // Main is empty: small is drained.
    expect(policy.evict()).toBe(cold[1]);
  });

  it('keeps a scan of one-hit keys from flushing the main FIFO', () => {
    const { policy, insert } = setup();
    const hot = Array.from({ length: 50 }, (_, i) => insert(`hot${i}`));
    for (const e of hot) policy.onAccess(e);
    let bytes = 500;
    const evicted = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      insert(`scan${i}`);
      bytes += 10;
      while (bytes > 1000) {
        evicted.add(policy.evict()!.key);
        bytes -= 10;
      }
    }
    expect(hot.filter((e) => evicted.has(e.key))).toEqual([]);
    expect(policy.mainCount).toBe(50);
  });

  it('detaches removed entries from whichever queue holds them', () => {
    const { policy, insert } = setup();
    const a = insert('a');
    policy.onAccess(a);
    const rest = Array.from({ length: 10 }, (_, i) => insert(`k${i}`));
    policy.evict(); // a -> main, k0 evicted
    policy.onRemove(a);
    policy.onRemove(rest[5]!);
    policy.onRemove(rest[5]!); // twice: no-op
    expect(policy.mainCount).toBe(0);
    expect(policy.smallCount).toBe(8);
    expect(policy.smallBytes).toBe(80);
    expect(policy.mainBytes).toBe(0);
  });
});

describe('GhostQueue', () => {
  it('remembers the last `bound` hashes added, FIFO', () => {
    const ghost = new GhostQueue();
    for (let h = 1; h <= 10; h++) ghost.add(h * 7919, 5);
    expect(ghost.take(1 * 7919, 5)).toBe(false); // aged out
    expect(ghost.take(5 * 7919, 5)).toBe(false);
    expect(ghost.take(6 * 7919, 5)).toBe(true);
    expect(ghost.take(6 * 7919, 5)).toBe(false); // taken
    expect(ghost.take(10 * 7919, 5)).toBe(true);
    // The bound may change between calls: a larger bound sees further back.
    expect(ghost.take(4 * 7919, 8)).toBe(true);
    expect(ghost.take(9 * 7919, 0)).toBe(false);
  });

  it('grows with the bound and keeps what it holds', () => {
    const ghost = new GhostQueue(256);
    for (let h = 0; h < 5000; h++) ghost.add(Math.imul(h, 2654435761) >>> 0, h + 1);
    expect(ghost.capacity).toBeGreaterThanOrEqual(5000);
    let found = 0;
    for (let h = 0; h < 5000; h++) if (ghost.take(Math.imul(h, 2654435761) >>> 0, 5000)) found++;
    expect(found).toBeGreaterThan(4500); // approximate by design, but only a few are lost
    ghost.clear();
    expect(ghost.take(Math.imul(4999, 2654435761) >>> 0, 5000)).toBe(false);
  });
});
