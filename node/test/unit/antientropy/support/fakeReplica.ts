// A Map-based replica store for anti-entropy tests: scan in key-hash order,
// accessors like ArenaStore's, and applyAt with the store's last-writer-wins
// rules, so rounds between two of them behave as rounds between two nodes.
import { keySlot } from '@meshcache/proto';
import type { Scheduler, Timer } from '../../../../src/membership/runtime.js';
import { SCAN_DONE, type ReplicaStore } from '../../../../src/antientropy/scanSource.js';
import { compareVersions } from '../../../../src/store/HybridLogicalClock.js';
import { hashBytes } from '../../../../src/store/arena/keyHash.js';

export const GRACE_MS = 600_000;

interface Item {
  key: Buffer;
  /** Key then value. */
  bytes: Buffer;
  hlc: number;
  node: number;
  tombstone: boolean;
  expiresAt: number;
  hash: number;
  slot: number;
}

export interface Put {
  hlc: number;
  node?: number;
  tombstone?: boolean;
  expiresAt?: number;
}

export class FakeReplica implements ReplicaStore {
  private readonly items: (Item | undefined)[] = [];
  private readonly byKey = new Map<string, number>();
  private order: number[] | undefined;
  /** scan calls, and how many visited something. */
  scans = 0;

  constructor(
    readonly now: () => number = () => 1_000_000,
    /** Salt for the scan's hash order: two fakes with different salts visit in different orders. */
    private readonly salt = 0,
  ) {}

  /** Writes an item as given, whatever the store held (to set up divergence). */
  put(key: string | Buffer, value: string | Buffer, v: Put): void {
    const k = typeof key === 'string' ? Buffer.from(key) : key;
    const tombstone = v.tombstone ?? false;
    const val = tombstone ? Buffer.alloc(0) : typeof value === 'string' ? Buffer.from(value) : value;
    const item: Item = {
      key: Buffer.from(k),
      bytes: Buffer.concat([k, val]),
      hlc: v.hlc,
      node: v.node ?? 1,
      tombstone,
      expiresAt: tombstone ? (v.expiresAt ?? this.now() + GRACE_MS) : (v.expiresAt ?? 0),
      hash: (hashBytes(k, 0, k.length) ^ this.salt) >>> 0,
      slot: keySlot(k),
    };
    const at = this.byKey.get(k.toString('latin1'));
    if (at !== undefined) {
      this.items[at] = item;
    } else {
      this.byKey.set(k.toString('latin1'), this.items.length);
      this.items.push(item);
      this.order = undefined;
    }
  }

  /** Drops the key outright (a purge, or a replica that never had it). */
  remove(key: string | Buffer): void {
    const k = typeof key === 'string' ? key : key.toString('latin1');
    const at = this.byKey.get(k);
    if (at === undefined) return;
    this.items[at] = undefined;
    this.byKey.delete(k);
    this.order = undefined;
  }

  get(key: string): Item | undefined {
    const at = this.byKey.get(key);
    return at === undefined ? undefined : this.items[at];
  }

  get size(): number {
    return this.byKey.size;
  }

  keys(): string[] {
    return [...this.byKey.keys()];
  }

  scan(
    cursor: number,
    maxWork: number,
    slots: Uint8Array | undefined,
    visit: (h: number, slot: number) => void,
  ): number {
    this.scans++;
    if (this.order === undefined) {
      this.order = [...this.byKey.values()].sort((a, b) => this.items[a]!.hash - this.items[b]!.hash);
    }
    const order = this.order;
    let i = lowerBound(order, (h) => this.items[h]!.hash >= cursor);
    let work = 0;
    while (i < order.length && work < maxWork) {
      const hash = this.items[order[i]!]!.hash;
      // Every item of one hash in the same call: the next call starts past it.
      while (i < order.length && this.items[order[i]!]!.hash === hash) {
        const h = order[i++]!;
        const item = this.items[h]!;
        if (slots === undefined || slots[item.slot] !== 0) visit(h, item.slot);
        work++;
      }
    }
    return i < order.length ? this.items[order[i]!]!.hash : SCAN_DONE;
  }

  hlcOf(h: number): number {
    return this.at(h).hlc;
  }
  nodeOf(h: number): number {
    return this.at(h).node;
  }
  expiresAtOf(h: number): number {
    return this.at(h).expiresAt;
  }
  isTombstone(h: number): boolean {
    return this.at(h).tombstone;
  }
  keyLength(h: number): number {
    return this.at(h).key.length;
  }
  valueLength(h: number): number {
    const item = this.at(h);
    return item.bytes.length - item.key.length;
  }
  valueSource(h: number): Uint8Array {
    return this.at(h).bytes;
  }
  valueOffset(h: number): number {
    return this.at(h).key.length;
  }

  applyAt(
    key: Uint8Array,
    keyOffset: number,
    keyLen: number,
    value: Uint8Array,
    valueOffset: number,
    valueLen: number,
    expiresAt: number,
    hlc: number,
    node: number,
    tombstone: boolean,
  ): boolean {
    const k = Buffer.from(key.subarray(keyOffset, keyOffset + keyLen));
    const v = Buffer.from(value.subarray(valueOffset, valueOffset + (tombstone ? 0 : valueLen)));
    const dead = tombstone || (expiresAt !== 0 && expiresAt <= this.now());
    const held = this.get(k.toString('latin1'));
    if (held !== undefined && !beats(held, this.now(), hlc, node, dead, v, expiresAt)) return false;
    this.put(k, v, dead ? { hlc, node, tombstone: true } : { hlc, node, expiresAt });
    return true;
  }

  private at(h: number): Item {
    const item = this.items[h];
    if (item === undefined) throw new Error(`stale handle ${h}`);
    return item;
  }
}

/** ArenaStore.incomingWins, with the value-hash step left out (byte order decides alone). */
function beats(
  held: Item,
  now: number,
  hlc: number,
  node: number,
  dead: boolean,
  value: Buffer,
  expiresAt: number,
): boolean {
  const order = compareVersions(hlc, node, held.hlc, held.node);
  if (order !== 0) return order > 0;
  if (dead) return false;
  const heldDead = held.tombstone || (held.expiresAt !== 0 && held.expiresAt <= now);
  if (heldDead) return true;
  const bytes = Buffer.compare(value, held.bytes.subarray(held.key.length));
  if (bytes !== 0) return bytes > 0;
  return (
    expiresAt !== held.expiresAt && (expiresAt === 0 || (held.expiresAt !== 0 && expiresAt > held.expiresAt))
  );
}

function lowerBound(a: number[], pred: (h: number) => boolean): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pred(a[mid]!)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Timers on a virtual clock, run by advance(). */
export class ManualScheduler implements Scheduler {
  private time = 0;
  private seq = 0;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.time;
  }

  schedule(delayMs: number, fn: () => void): Timer {
    const id = this.seq++;
    this.pending.set(id, { at: this.time + delayMs, fn });
    return { cancel: () => void this.pending.delete(id) };
  }

  get timers(): number {
    return this.pending.size;
  }

  advance(ms: number): void {
    this.time += ms;
    for (const [id, t] of [...this.pending].sort((a, b) => a[1].at - b[1].at)) {
      if (t.at > this.time) break;
      this.pending.delete(id);
      t.fn();
    }
  }
}
