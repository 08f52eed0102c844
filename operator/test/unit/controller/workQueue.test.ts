import { describe, expect, it } from '@jest/globals';
import { jitteredBackoffMs } from '../../../src/k8s/backoff.js';
import { WorkQueue } from '../../../src/k8s/WorkQueue.js';

describe('WorkQueue', () => {
  it('dedupes waiting keys and never hands one key to two workers', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('a');
    q.add('b');
    expect(q.depth).toBe(2);
    const k = await q.take();
    expect(k).toBe('a');
    q.add('a'); // while in progress: runs again after done()
    expect(await q.take()).toBe('b');
    expect(q.depth).toBe(0);
    q.done('a');
    expect(await q.take()).toBe('a');
    q.close();
    expect(await q.take()).toBeUndefined();
  });

  it('backs off failures per key, capped, with jitter', () => {
    const q = new WorkQueue({ baseDelayMs: 100, maxDelayMs: 1000, random: () => 1 });
    expect([1, 2, 3, 4, 5, 6].map(() => q.addRateLimited('k'))).toEqual([100, 200, 400, 800, 1000, 1000]);
    q.forget('k');
    expect(q.addRateLimited('k')).toBe(100);
    q.close();
    expect(jitteredBackoffMs(3, 100, 10_000, () => 0)).toBe(200);
    expect(jitteredBackoffMs(30, 100, 10_000, () => 0.5)).toBe(7500);
  });
});
