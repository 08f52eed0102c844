import { describe, expect, it } from '@jest/globals';
import {
  HLC_LOGICAL_BITS,
  HybridLogicalClock,
  compareVersions,
  hlcLogical,
  hlcPhysicalMs,
  makeHlc,
  nodeTagOf,
} from '../../../src/store/HybridLogicalClock.js';
import { fnv1a32, fnv1a32Latin1 } from '../../../src/store/fnv1a.js';

function manualClock(start: number): { now: () => number; set: (ms: number) => void } {
  let t = start;
  return { now: () => t, set: (ms) => (t = ms) };
}

describe('HLC encoding', () => {
  it('packs physical ms and a 10-bit logical counter into one safe integer', () => {
    expect(HLC_LOGICAL_BITS).toBe(10);
    const hlc = makeHlc(1_763_000_000_000, 5);
    expect(Number.isSafeInteger(hlc)).toBe(true);
    expect(hlcPhysicalMs(hlc)).toBe(1_763_000_000_000);
    expect(hlcLogical(hlc)).toBe(5);
    expect(makeHlc(1, 0)).toBe(1024);
  });
});

describe('HybridLogicalClock', () => {
  it('follows wall time when it advances', () => {
    const wall = manualClock(1000);
    const clock = new HybridLogicalClock(7, wall.now);
    expect(clock.now()).toBe(makeHlc(1000, 0));
    wall.set(1005);
    expect(clock.now()).toBe(makeHlc(1005, 0));
    expect(clock.nodeTag).toBe(7);
  });

  it('is strictly increasing within one millisecond and when wall time goes back', () => {
    const wall = manualClock(2000);
    const clock = new HybridLogicalClock(1, wall.now);
    const a = clock.now();
    const b = clock.now();
    wall.set(1500); // NTP step backwards
    const c = clock.now();
    expect(b).toBe(a + 1);
    expect(c).toBe(b + 1);
    expect(hlcPhysicalMs(c)).toBe(2000);
    expect(hlcLogical(c)).toBe(2);
  });

  it('carries into the physical part when the logical counter overflows', () => {
    const wall = manualClock(3000);
    const clock = new HybridLogicalClock(1, wall.now);
    let prev = clock.now();
    for (let i = 0; i < 1023; i++) {
      const next = clock.now();
      expect(next).toBeGreaterThan(prev);
      prev = next;
    }
    expect(hlcPhysicalMs(prev)).toBe(3000);
    expect(hlcLogical(prev)).toBe(1023);
    const over = clock.now();
    expect(hlcPhysicalMs(over)).toBe(3001); // runs ahead of wall time instead of repeating
    expect(hlcLogical(over)).toBe(0);
    wall.set(3001);
    expect(clock.now()).toBe(makeHlc(3001, 1));
    wall.set(3002);
    expect(clock.now()).toBe(makeHlc(3002, 0));
  });

  it('observes remote timestamps ahead of it and stays ahead of them', () => {
    const wall = manualClock(1000);
    const clock = new HybridLogicalClock(1, wall.now);
    clock.now();
    const remote = makeHlc(5000, 3);
    const merged = clock.observe(remote);
    expect(merged).toBe(makeHlc(5000, 4));
    expect(clock.now()).toBe(makeHlc(5000, 5));
    // A remote timestamp behind us does not move the clock back.
    expect(clock.observe(makeHlc(10, 0))).toBe(makeHlc(5000, 6));
    // Once wall time passes everything seen, it takes over again.
    wall.set(6000);
    expect(clock.observe(makeHlc(5000, 9))).toBe(makeHlc(6000, 0));
  });

  it('rejects timestamps that are not non-negative safe integers', () => {
    const clock = new HybridLogicalClock(1, () => 1000);
    expect(() => clock.observe(-1)).toThrow(RangeError);
    expect(() => clock.observe(1.5)).toThrow(RangeError);
    expect(() => clock.observe(2 ** 60)).toThrow(RangeError);
    expect(clock.current).toBe(0);
  });
});

describe('versions', () => {
  it('orders by HLC, then by node tag (last writer wins)', () => {
    expect(compareVersions(10, 5, 11, 1)).toBeLessThan(0);
    expect(compareVersions(11, 1, 10, 5)).toBeGreaterThan(0);
    expect(compareVersions(10, 1, 10, 2)).toBeLessThan(0);
    expect(compareVersions(10, 2, 10, 1)).toBeGreaterThan(0);
    expect(compareVersions(10, 2, 10, 2)).toBe(0);
  });

  it('derives node tags as unsigned 32-bit FNV-1a of the UTF-8 id', () => {
    expect(fnv1a32(new Uint8Array())).toBe(0x811c9dc5);
    expect(nodeTagOf('a')).toBe(0xe40c292c);
    expect(nodeTagOf('foobar')).toBe(0xbf9cf968);
    expect(nodeTagOf('nœud')).toBe(fnv1a32(Buffer.from('nœud', 'utf8')));
    expect(nodeTagOf('node-1')).not.toBe(nodeTagOf('node-2'));
    for (const id of ['node-0', 'x', 'meshcache-2']) {
      const tag = nodeTagOf(id);
      expect(Number.isInteger(tag) && tag >= 0 && tag < 2 ** 32).toBe(true);
    }
  });

  it('hashes latin1 strings as their bytes', () => {
    const s = Buffer.from([0, 255, 128, 65]).toString('latin1');
    expect(fnv1a32Latin1(s)).toBe(fnv1a32(Buffer.from(s, 'latin1')));
  });
});
