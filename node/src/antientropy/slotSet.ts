/**
 * Sets of slots, held as SLOT_COUNT-byte masks (what ScanSource.scan takes;
 * non-zero = included), and their wire form: runs of consecutive slots as
 * varints, or a 2 KiB bitmap when that is smaller. Placement gives each node
 * a few long runs of slots, so the set a replica pair shares usually takes a
 * handful of bytes.
 */
import { SLOT_COUNT } from '@meshcache/proto';
import { AntiEntropyWireError, type ByteReader, type ByteWriter } from './bytes.js';

const RUNS = 0;
const BITMAP = 1;
const BITMAP_BYTES = SLOT_COUNT / 8;

/** A mask holding `slots`. */
export function slotMask(slots: Iterable<number>): Uint8Array {
  const mask = new Uint8Array(SLOT_COUNT);
  for (const s of slots) {
    if (!Number.isInteger(s) || s < 0 || s >= SLOT_COUNT) throw new RangeError(`not a slot: ${s}`);
    mask[s] = 1;
  }
  return mask;
}

/** The slots of a mask, ascending. */
export function maskSlots(mask: Uint8Array): Uint16Array {
  let n = 0;
  for (let s = 0; s < SLOT_COUNT; s++) if (mask[s] !== 0) n++;
  const out = new Uint16Array(n);
  n = 0;
  for (let s = 0; s < SLOT_COUNT; s++) if (mask[s] !== 0) out[n++] = s;
  return out;
}

/** Slots in both. */
export function intersectMasks(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(SLOT_COUNT);
  for (let s = 0; s < SLOT_COUNT; s++) out[s] = a[s] !== 0 && b[s] !== 0 ? 1 : 0;
  return out;
}

/** Whether the two masks hold the same slots. */
export function sameSlots(a: Uint8Array, b: Uint8Array): boolean {
  for (let s = 0; s < SLOT_COUNT; s++) if ((a[s] !== 0) !== (b[s] !== 0)) return false;
  return true;
}

/** Writes the set in whichever form is smaller. */
export function writeSlotSet(w: ByteWriter, mask: Uint8Array): void {
  checkMask(mask);
  const runs: number[] = [];
  for (let s = 0; s < SLOT_COUNT;) {
    if (mask[s] === 0) {
      s++;
      continue;
    }
    const start = s;
    while (s < SLOT_COUNT && mask[s] !== 0) s++;
    runs.push(start, s - start);
  }
  let runBytes = varintBytes(runs.length / 2);
  for (let i = 0, end = 0; i < runs.length; i += 2) {
    runBytes += varintBytes(runs[i]! - end) + varintBytes(runs[i + 1]! - 1);
    end = runs[i]! + runs[i + 1]!;
  }
  if (runBytes <= BITMAP_BYTES) {
    w.u8(RUNS);
    w.varint(runs.length / 2);
    for (let i = 0, end = 0; i < runs.length; i += 2) {
      w.varint(runs[i]! - end);
      w.varint(runs[i + 1]! - 1);
      end = runs[i]! + runs[i + 1]!;
    }
    return;
  }
  w.u8(BITMAP);
  const bits = new Uint8Array(BITMAP_BYTES);
  for (let s = 0; s < SLOT_COUNT; s++) if (mask[s] !== 0) bits[s >>> 3]! |= 1 << (s & 7);
  w.raw(bits);
}

export function readSlotSet(r: ByteReader): Uint8Array {
  const mask = new Uint8Array(SLOT_COUNT);
  const form = r.u8();
  if (form === RUNS) {
    const n = r.varint();
    let end = 0;
    for (let i = 0; i < n; i++) {
      const start = end + r.varint();
      end = start + r.varint() + 1;
      if (end > SLOT_COUNT) throw new AntiEntropyWireError(`slot run past the last slot (${end})`);
      mask.fill(1, start, end);
    }
    return mask;
  }
  if (form !== BITMAP) throw new AntiEntropyWireError(`unknown slot set form ${form}`);
  const bits = r.raw(BITMAP_BYTES);
  for (let s = 0; s < SLOT_COUNT; s++) mask[s] = (bits[s >>> 3]! >>> (s & 7)) & 1;
  return mask;
}

function checkMask(mask: Uint8Array): void {
  if (mask.length !== SLOT_COUNT)
    throw new RangeError(`slot mask must have ${SLOT_COUNT} bytes, got ${mask.length}`);
}

function varintBytes(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}
