import { SLOT_COUNT } from '@meshcache/proto';

/**
 * Which slots this node holds a complete copy of, per replication factor. A
 * process starts with nothing filled (it may have restarted and lost its
 * data): until a slot is filled it answers reads of it with NOT_READY, is
 * never a transfer source for it, and does not count toward its readiness.
 * Slots fill by a transfer (a new replica), a bootstrap (a restarted one), or
 * at once when this node forms a new cluster. A slot the node stops holding
 * is unfilled at once (its copy stops receiving writes), then dropped.
 */
export class SlotFill {
  private readonly byFactor = new Map<number, Uint8Array>();
  /** Slots completed empty because no other replica had them (every copy was lost), per factor. */
  readonly lost = new Map<number, number>();

  private mask(rf: number): Uint8Array {
    let m = this.byFactor.get(rf);
    if (m === undefined) {
      m = new Uint8Array(SLOT_COUNT);
      this.byFactor.set(rf, m);
    }
    return m;
  }

  isFilled(rf: number, slot: number): boolean {
    return this.byFactor.get(rf)?.[slot] === 1;
  }

  fill(rf: number, slot: number): void {
    this.mask(rf)[slot] = 1;
  }

  unfill(rf: number, slot: number): void {
    const m = this.byFactor.get(rf);
    if (m !== undefined) m[slot] = 0;
  }

  fillAll(rf: number): void {
    this.mask(rf).fill(1);
  }

  unfillAll(): void {
    for (const m of this.byFactor.values()) m.fill(0);
  }

  /** Records slots completed empty (no replica had data). */
  noteLost(rf: number, slots: number): void {
    this.lost.set(rf, (this.lost.get(rf) ?? 0) + slots);
  }

  get lostTotal(): number {
    let n = 0;
    for (const v of this.lost.values()) n += v;
    return n;
  }
}
