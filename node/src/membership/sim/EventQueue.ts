/** A cancellable event on the virtual timeline. */
export interface SimEvent {
  time: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A binary min-heap of events ordered by (time, insertion order): the
 * simulator's whole notion of "later". Cancelled events stay in the heap and
 * are skipped when they surface.
 */
export class EventQueue {
  private heap: SimEvent[] = [];
  private seq = 0;
  now = 0;

  get size(): number {
    return this.heap.length;
  }

  push(time: number, fn: () => void): SimEvent {
    const ev: SimEvent = { time: Math.max(time, this.now), seq: this.seq++, fn, cancelled: false };
    const h = this.heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(ev, h[p]!)) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = ev;
    return ev;
  }

  private less(a: SimEvent, b: SimEvent): boolean {
    return a.time < b.time || (a.time === b.time && a.seq < b.seq);
  }

  private pop(): SimEvent | undefined {
    const h = this.heap;
    const top = h[0];
    if (top === undefined) return undefined;
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      const n = h.length;
      while (true) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && this.less(h[r]!, h[l]!) ? r : l;
        if (!this.less(h[c]!, last)) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }

  /** Runs events up to and including `until`; returns how many ran. */
  runUntil(until: number, stop?: () => boolean): number {
    let ran = 0;
    while (this.heap.length > 0 && this.heap[0]!.time <= until) {
      const ev = this.pop()!;
      if (ev.cancelled) continue;
      this.now = ev.time;
      ev.fn();
      ran++;
      if (stop && (ran & 255) === 0 && stop()) return ran;
    }
    if (this.now < until) this.now = until;
    return ran;
  }
}
