import { describe, expect, it } from '@jest/globals';
import { EventQueue } from '../../../src/membership/sim/EventQueue.js';
import { Suspicion } from '../../../src/membership/Suspicion.js';
import type { Scheduler } from '../../../src/membership/runtime.js';

function scheduler(q: EventQueue): Scheduler {
  return {
    now: () => q.now,
    schedule: (d, fn) => {
      const ev = q.push(q.now + d, fn);
      return { cancel: () => (ev.cancelled = true) };
    },
  };
}

describe('Suspicion (Lifeguard)', () => {
  it('starts at the maximum and shrinks to the minimum as k confirmations arrive (log-scaled)', () => {
    const q = new EventQueue();
    const s = new Suspicion(scheduler(q), 'a', 3, 2000, 6000, () => undefined);
    expect(s.timeout()).toBe(6000);
    s.confirm('b');
    expect(s.timeout()).toBe(Math.floor(6000 - (Math.log(2) / Math.log(4)) * 4000));
    s.confirm('c');
    expect(s.timeout()).toBe(Math.floor(6000 - (Math.log(3) / Math.log(4)) * 4000));
    s.confirm('d');
    expect(s.timeout()).toBe(2000);
    expect(s.confirm('e')).toBe(false);
  });

  it('ignores repeated confirmations from one member and the originator', () => {
    const q = new EventQueue();
    const s = new Suspicion(scheduler(q), 'a', 3, 2000, 6000, () => undefined);
    expect(s.confirm('a')).toBe(false);
    expect(s.confirm('b')).toBe(true);
    expect(s.confirm('b')).toBe(false);
    expect(s.confirmations).toBe(1);
  });

  it('fires at the maximum without confirmations, and at once when confirmations make it overdue', () => {
    const q = new EventQueue();
    let fired = -1;
    new Suspicion(scheduler(q), 'a', 2, 1000, 3000, () => (fired = q.now));
    q.runUntil(10_000);
    expect(fired).toBe(3000);

    const q2 = new EventQueue();
    let fired2 = -1;
    const s = new Suspicion(scheduler(q2), 'a', 2, 1000, 3000, () => (fired2 = q2.now));
    q2.runUntil(1500);
    s.confirm('b');
    s.confirm('c');
    q2.runUntil(10_000);
    expect(fired2).toBe(1500);
  });

  it('uses the minimum when no confirmation is possible (k = 0), and never fires once cancelled', () => {
    const q = new EventQueue();
    let fired = 0;
    const s = new Suspicion(scheduler(q), 'a', 0, 1000, 3000, () => fired++);
    expect(s.timeout()).toBe(1000);
    s.cancel();
    q.runUntil(10_000);
    expect(fired).toBe(0);
  });
});
