/**
 * Anti-entropy's messages as bytes, so a transport ships them as opaque
 * payloads and both sides count exactly what crossed. A round is four
 * requests from the node running it (the initiator) to a peer:
 *
 *   DIGESTS  round id, initiator id, cache, seed, cutoff, tombstone
 *            horizon, leafSlots, the slots to compare, the initiator's root
 *     answer: the slots the peer accepted (only when fewer), its root, and
 *             its range digests unless the roots were equal
 *   SLOTS    the differing ranges -> answer: the peer's slot digests for them
 *   FETCH    a batch of differing slots -> answer: the peer's entries there
 *   PUSH     a batch of slots and the initiator's entries there; the last
 *            push ends the round -> answer: how many changed the peer's store
 *
 * Every message starts with the protocol version and its kind; every answer
 * then has a status, and a reason when it is not OK. Entries go last in
 * their message, so they are written while a scan visits them and read in
 * place (applied straight from the message bytes).
 */
import { AntiEntropyWireError, ByteReader, ByteWriter } from './bytes.js';
import type { DigestSeed } from './SlotDigests.js';
import { DIGEST_BYTES } from './SlotDigests.js';
import type { ItemReader } from './scanSource.js';
import { readSlotSet, writeSlotSet } from './slotSet.js';

export const ANTI_ENTROPY_PROTOCOL = 1;

export const MessageKind = {
  DIGESTS: 1,
  DIGESTS_ANSWER: 2,
  SLOTS: 3,
  SLOTS_ANSWER: 4,
  FETCH: 5,
  FETCH_ANSWER: 6,
  PUSH: 7,
  PUSH_ANSWER: 8,
} as const;
export type MessageKind = (typeof MessageKind)[keyof typeof MessageKind];

export const AnswerStatus = {
  OK: 0,
  /** The peer runs as many rounds as it allows; try later. */
  BUSY: 1,
  /** The peer has no such cache (or it is not replicated there). */
  UNKNOWN_CACHE: 2,
  /** The peer no longer holds the round (it timed out, or never began). */
  UNKNOWN_ROUND: 3,
  /** The request was malformed, or the peer failed to serve it. */
  FAILED: 4,
} as const;
export type AnswerStatus = (typeof AnswerStatus)[keyof typeof AnswerStatus];

/** A peer answered with a status other than OK. */
export class AntiEntropyPeerError extends Error {
  override readonly name = 'AntiEntropyPeerError';
  constructor(
    readonly status: AnswerStatus,
    reason: string,
  ) {
    super(reason);
  }
}

export interface DigestsRequest {
  roundId: string;
  /** The initiator's node id. */
  from: string;
  cache: string;
  seed: DigestSeed;
  cutoffMs: number;
  /** Tombstones whose version is older than this (epoch ms) are left out of both sides' digests; 0 = none. */
  tombstoneHorizonMs: number;
  leafSlots: number;
  /** The slots to compare (a mask). */
  slots: Uint8Array;
  /** The initiator's root over those slots. */
  root: Uint8Array;
}

export interface DigestsAnswer {
  /** Present when the peer accepted fewer slots than asked: the tree is then over these. */
  slots?: Uint8Array;
  root: Uint8Array;
  /** The peer's range digests; absent when the roots were equal over the slots asked. */
  ranges?: Uint8Array;
}

export interface SlotsRequest {
  roundId: string;
  /** Indexes of the differing ranges, ascending. */
  ranges: number[];
}

export interface EntriesRequest {
  roundId: string;
  /** The batch of slots (a mask). */
  slots: Uint8Array;
  /** PUSH only: this push ends the round. */
  last: boolean;
  /** PUSH only: where the entries start in `bytes`. */
  entriesAt: number;
  bytes: Uint8Array;
}

const FLAG_SLOTS = 1;
const FLAG_RANGES = 2;

function header(kind: MessageKind): ByteWriter {
  const w = new ByteWriter();
  w.u8(ANTI_ENTROPY_PROTOCOL);
  w.u8(kind);
  return w;
}

function open(bytes: Uint8Array, kind: MessageKind): ByteReader {
  const r = new ByteReader(bytes);
  const protocol = r.u8();
  if (protocol !== ANTI_ENTROPY_PROTOCOL) {
    throw new AntiEntropyWireError(
      `anti-entropy protocol ${protocol} is not supported (this node speaks ${ANTI_ENTROPY_PROTOCOL})`,
    );
  }
  const k = r.u8();
  if (k !== kind) throw new AntiEntropyWireError(`expected message kind ${kind}, got ${k}`);
  return r;
}

/** An answer's writer, status OK. */
export function answerWriter(kind: MessageKind): ByteWriter {
  const w = header(kind);
  w.u8(AnswerStatus.OK);
  return w;
}

export function encodeRefusal(kind: MessageKind, status: AnswerStatus, reason: string): Uint8Array {
  const w = header(kind);
  w.u8(status);
  w.string(reason);
  return w.bytes();
}

/** Opens an answer; throws AntiEntropyPeerError when its status is not OK. */
export function openAnswer(bytes: Uint8Array, kind: MessageKind): ByteReader {
  const r = open(bytes, kind);
  const status = r.u8();
  if (status === AnswerStatus.OK) return r;
  if (status > AnswerStatus.FAILED) throw new AntiEntropyWireError(`unknown answer status ${status}`);
  throw new AntiEntropyPeerError(status as AnswerStatus, r.string());
}

export function encodeDigestsRequest(m: DigestsRequest): Uint8Array {
  const w = header(MessageKind.DIGESTS);
  w.string(m.roundId);
  w.string(m.from);
  w.string(m.cache);
  for (let i = 0; i < 4; i++) w.u32(m.seed[i]!);
  w.f64(m.cutoffMs);
  w.f64(m.tombstoneHorizonMs);
  w.varint(m.leafSlots);
  writeSlotSet(w, m.slots);
  w.raw(m.root);
  return w.bytes();
}

export function decodeDigestsRequest(bytes: Uint8Array): DigestsRequest {
  const r = open(bytes, MessageKind.DIGESTS);
  const roundId = r.string();
  const from = r.string();
  const cache = r.string();
  const seed = new Int32Array(4);
  for (let i = 0; i < 4; i++) seed[i] = r.u32();
  const cutoffMs = r.f64();
  const tombstoneHorizonMs = r.f64();
  const leafSlots = r.varint();
  if (leafSlots < 1) throw new AntiEntropyWireError('leafSlots must be >= 1');
  const slots = readSlotSet(r);
  const root = r.raw(DIGEST_BYTES);
  return { roundId, from, cache, seed, cutoffMs, tombstoneHorizonMs, leafSlots, slots, root };
}

export function encodeDigestsAnswer(m: DigestsAnswer): Uint8Array {
  const w = answerWriter(MessageKind.DIGESTS_ANSWER);
  w.u8((m.slots !== undefined ? FLAG_SLOTS : 0) | (m.ranges !== undefined ? FLAG_RANGES : 0));
  if (m.slots !== undefined) writeSlotSet(w, m.slots);
  w.raw(m.root);
  if (m.ranges !== undefined) {
    w.varint(m.ranges.length / DIGEST_BYTES);
    w.raw(m.ranges);
  }
  return w.bytes();
}

export function decodeDigestsAnswer(bytes: Uint8Array): DigestsAnswer {
  const r = openAnswer(bytes, MessageKind.DIGESTS_ANSWER);
  const flags = r.u8();
  const slots = (flags & FLAG_SLOTS) !== 0 ? readSlotSet(r) : undefined;
  const root = r.raw(DIGEST_BYTES);
  const ranges = (flags & FLAG_RANGES) !== 0 ? r.raw(r.varint() * DIGEST_BYTES) : undefined;
  const m: DigestsAnswer = { root };
  if (slots !== undefined) m.slots = slots;
  if (ranges !== undefined) m.ranges = ranges;
  return m;
}

export function encodeSlotsRequest(m: SlotsRequest): Uint8Array {
  const w = header(MessageKind.SLOTS);
  w.string(m.roundId);
  w.varint(m.ranges.length);
  let prev = 0;
  for (const r of m.ranges) {
    if (r < prev) throw new RangeError('ranges must be ascending');
    w.varint(r - prev);
    prev = r;
  }
  return w.bytes();
}

export function decodeSlotsRequest(bytes: Uint8Array): SlotsRequest {
  const r = open(bytes, MessageKind.SLOTS);
  const roundId = r.string();
  const n = r.varint();
  if (n > r.remaining) throw new AntiEntropyWireError(`${n} ranges cannot fit in ${r.remaining} bytes`);
  const ranges: number[] = [];
  let prev = 0;
  for (let i = 0; i < n; i++) ranges.push((prev += r.varint()));
  return { roundId, ranges };
}

export function encodeSlotsAnswer(digests: Uint8Array): Uint8Array {
  const w = answerWriter(MessageKind.SLOTS_ANSWER);
  w.raw(digests);
  return w.bytes();
}

export function decodeSlotsAnswer(bytes: Uint8Array): Uint8Array {
  const r = openAnswer(bytes, MessageKind.SLOTS_ANSWER);
  return r.raw(r.remaining);
}

/**
 * A FETCH or PUSH request's writer, up to where the entries go (a PUSH's
 * are appended with writeEntry).
 */
export function entriesRequestWriter(
  kind: typeof MessageKind.FETCH | typeof MessageKind.PUSH,
  roundId: string,
  slots: Uint8Array,
  last: boolean,
): ByteWriter {
  const w = header(kind);
  w.string(roundId);
  w.u8(last ? 1 : 0);
  writeSlotSet(w, slots);
  return w;
}

export function decodeEntriesRequest(
  bytes: Uint8Array,
  kind: typeof MessageKind.FETCH | typeof MessageKind.PUSH,
): EntriesRequest {
  const r = open(bytes, kind);
  const roundId = r.string();
  const last = r.u8() !== 0;
  const slots = readSlotSet(r);
  return { roundId, slots, last, entriesAt: r.pos, bytes };
}

export function encodePushAnswer(applied: number): Uint8Array {
  const w = answerWriter(MessageKind.PUSH_ANSWER);
  w.varint(applied);
  return w.bytes();
}

export function decodePushAnswer(bytes: Uint8Array): number {
  return openAnswer(bytes, MessageKind.PUSH_ANSWER).varint();
}

const ENTRY_TOMBSTONE = 1;
const ENTRY_EXPIRES = 2;

/** Appends item `h` of `src` as an entry: version, key, and for a value its expiry and bytes. */
export function writeEntry(w: ByteWriter, src: ItemReader, h: number): void {
  const tombstone = src.isTombstone(h);
  // A tombstone's expiresAt is its holder's purge time, of no use to another replica.
  const expiresAt = tombstone ? 0 : src.expiresAtOf(h);
  const bytes = src.valueSource(h);
  const valueOffset = src.valueOffset(h);
  const keyLen = src.keyLength(h);
  w.u8((tombstone ? ENTRY_TOMBSTONE : 0) | (expiresAt !== 0 ? ENTRY_EXPIRES : 0));
  w.varint(keyLen);
  w.raw(bytes, valueOffset - keyLen, keyLen);
  w.f64(src.hlcOf(h));
  w.u32(src.nodeOf(h));
  if (expiresAt !== 0) w.f64(expiresAt);
  if (!tombstone) {
    const valueLen = src.valueLength(h);
    w.varint(valueLen);
    w.raw(bytes, valueOffset, valueLen);
  }
}

/** One decoded entry: key and value are ranges of `bytes` (no copies). */
export interface EntryView {
  bytes: Uint8Array;
  keyAt: number;
  keyLen: number;
  valueAt: number;
  valueLen: number;
  hlc: number;
  node: number;
  expiresAt: number;
  tombstone: boolean;
}

/**
 * Calls `each` for every entry from `at` to the end of `bytes`, with one
 * EntryView object reused throughout (read what you need before returning).
 */
export function readEntries(bytes: Uint8Array, at: number, each: (e: EntryView) => void): number {
  const r = new ByteReader(bytes, at);
  const e: EntryView = {
    bytes,
    keyAt: 0,
    keyLen: 0,
    valueAt: 0,
    valueLen: 0,
    hlc: 0,
    node: 0,
    expiresAt: 0,
    tombstone: false,
  };
  let n = 0;
  while (r.remaining > 0) {
    const flags = r.u8();
    if (flags > (ENTRY_TOMBSTONE | ENTRY_EXPIRES))
      throw new AntiEntropyWireError(`unknown entry flags ${flags}`);
    e.tombstone = (flags & ENTRY_TOMBSTONE) !== 0;
    e.keyLen = r.varint();
    e.keyAt = r.skip(e.keyLen);
    e.hlc = r.f64();
    e.node = r.u32();
    e.expiresAt = (flags & ENTRY_EXPIRES) !== 0 ? r.f64() : 0;
    if (e.tombstone) {
      e.valueAt = 0;
      e.valueLen = 0;
    } else {
      e.valueLen = r.varint();
      e.valueAt = r.skip(e.valueLen);
    }
    each(e);
    n++;
  }
  return n;
}
