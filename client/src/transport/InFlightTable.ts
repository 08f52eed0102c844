import type { PendingOp } from './PendingOp.js';

const INITIAL_CAPACITY = 256;

/**
 * The operations of a stream awaiting their result, by id: a power-of-two
 * array indexed by `id & mask`, not a `Map`. Ids are issued by a counter that
 * skips ids whose slot is taken (`isTaken`), so a slot never holds two ops
 * and a lookup is one array read plus an id check. It doubles when half full
 * (ops keep distinct slots: their ids already differ in the low bits).
 *
 * Why not a Map: with ~10^5 inserts and deletes a second, V8 keeps rehashing
 * the Map's backing store, and the discarded tables kept young operations
 * alive through scavenges (about 13 MB surviving each one, 10-15 ms pauses,
 * a third of the client's CPU). This table allocates nothing per operation.
 */
export class InFlightTable {
  private slots: (PendingOp | undefined)[] = new Array<PendingOp | undefined>(INITIAL_CAPACITY).fill(
    undefined,
  );
  private mask = INITIAL_CAPACITY - 1;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Whether the slot of `id` is in use (by `id` or by an older op sharing its slot). */
  isTaken(id: number): boolean {
    return this.slots[id & this.mask] !== undefined;
  }

  get(id: number): PendingOp | undefined {
    const op = this.slots[id & this.mask];
    return op !== undefined && op.id === id ? op : undefined;
  }

  /** Adds `op` under `op.id`, whose slot must be free (see `isTaken`). */
  add(op: PendingOp): void {
    if ((this.count + 1) * 2 > this.slots.length) this.grow();
    this.slots[op.id & this.mask] = op;
    this.count++;
  }

  /** Removes and returns the op with this id, if it is in the table. */
  take(id: number): PendingOp | undefined {
    const index = id & this.mask;
    const op = this.slots[index];
    if (op === undefined || op.id !== id) return undefined;
    this.slots[index] = undefined;
    this.count--;
    return op;
  }

  /** Calls `fn` for each op; `fn` may `take` the op it is given. */
  forEach(fn: (op: PendingOp) => void): void {
    if (this.count === 0) return;
    const slots = this.slots;
    for (let i = 0; i < slots.length; i++) {
      const op = slots[i];
      if (op !== undefined) fn(op);
    }
  }

  /** Removes and returns every op, in id order of their slots. */
  drain(): PendingOp[] {
    const out: PendingOp[] = [];
    this.forEach((op) => out.push(op));
    out.sort((a, b) => a.id - b.id);
    this.slots.fill(undefined);
    this.count = 0;
    return out;
  }

  private grow(): void {
    const old = this.slots;
    const slots = new Array<PendingOp | undefined>(old.length * 2).fill(undefined);
    const mask = slots.length - 1;
    for (const op of old) if (op !== undefined) slots[op.id & mask] = op;
    this.slots = slots;
    this.mask = mask;
  }
}
