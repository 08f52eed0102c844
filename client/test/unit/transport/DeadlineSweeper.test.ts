import { afterEach, describe, expect, it } from '@jest/globals';
import { DeadlineSweeper, type Sweepable } from '../../../src/transport/DeadlineSweeper.js';

class FakeSource implements Sweepable {
  deadlines: number[] = [];
  expired: number[] = [];
  sweeps = 0;
  sweep(now: number): number {
    this.sweeps++;
    this.expired.push(...this.deadlines.filter((d) => d <= now));
    this.deadlines = this.deadlines.filter((d) => d > now);
    return this.deadlines.length ? Math.min(...this.deadlines) : Infinity;
  }
}

describe('DeadlineSweeper', () => {
  let sweeper: DeadlineSweeper | undefined;
  afterEach(() => sweeper?.stop());

  it('scans sources only once the earliest deadline has passed', () => {
    let now = 0;
    sweeper = new DeadlineSweeper(10, () => now);
    const source = new FakeSource();
    sweeper.add(source);
    source.deadlines.push(100, 250);
    sweeper.track(100);
    sweeper.track(250);
    now = 99;
    sweeper.tick();
    expect(source.sweeps).toBe(0);
    now = 100;
    sweeper.tick();
    expect(source.expired).toEqual([100]);
    now = 200;
    sweeper.tick();
    expect(source.sweeps).toBe(1);
    now = 260;
    sweeper.tick();
    expect(source.expired).toEqual([100, 250]);
  });

  it('runs one interval while anything is pending and stops when nothing is', () => {
    let now = 0;
    sweeper = new DeadlineSweeper(10, () => now);
    const source = new FakeSource();
    sweeper.add(source);
    expect(sweeper.running).toBe(false);
    source.deadlines.push(5);
    sweeper.track(5);
    expect(sweeper.running).toBe(true);
    now = 6;
    sweeper.tick();
    expect(sweeper.running).toBe(false);
  });
});
