import { describe, expect, it } from '@jest/globals';
import { BroadcastQueue } from '../../../src/membership/BroadcastQueue.js';
import type { GossipMessage } from '../../../src/membership/messages.js';

const suspect = (id: string, inc = 1): GossipMessage => ({ t: 'suspect', id, inc, from: 'me' });

function take(q: BroadcastQueue, budget: number, limit: number): GossipMessage[] {
  const out: GossipMessage[] = [];
  q.take(budget, limit, out);
  return out;
}

describe('BroadcastQueue', () => {
  it('sends each update at most `limit` times, then forgets it', () => {
    const q = new BroadcastQueue();
    q.enqueue('a', suspect('a'));
    expect(take(q, 1000, 3)).toHaveLength(1);
    expect(take(q, 1000, 3)).toHaveLength(1);
    expect(take(q, 1000, 3)).toHaveLength(1);
    expect(take(q, 1000, 3)).toHaveLength(0);
    expect(q.size).toBe(0);
  });

  it('prefers the least-sent updates when the budget is short', () => {
    const q = new BroadcastQueue();
    q.enqueue('a', suspect('a'));
    take(q, 1000, 5);
    q.enqueue('b', suspect('b'));
    const one = take(q, 60, 5);
    expect(one).toEqual([suspect('b')]);
  });

  it('replaces a queued update with a newer one about the same member', () => {
    const q = new BroadcastQueue();
    q.enqueue('a', suspect('a', 1));
    q.enqueue('a', suspect('a', 2));
    expect(q.size).toBe(1);
    expect(take(q, 1000, 5)).toEqual([suspect('a', 2)]);
  });

  it('fills a packet up to its budget and keeps the rest for later', () => {
    const q = new BroadcastQueue();
    for (let i = 0; i < 50; i++) q.enqueue(`m${i}`, suspect(`m${i}`));
    const size = Buffer.byteLength(JSON.stringify(suspect('m10')));
    const first = take(q, 10 * (size + 1), 1);
    expect(first.length).toBeGreaterThanOrEqual(9);
    expect(first.length).toBeLessThanOrEqual(10);
    const bytes = first.reduce((n, m) => n + Buffer.byteLength(JSON.stringify(m)) + 1, 0);
    expect(bytes).toBeLessThanOrEqual(10 * (size + 1));
    let sent = first.length;
    for (let i = 0; i < 10; i++) sent += take(q, 10 * (size + 1), 1).length;
    expect(sent).toBe(50);
  });
});
