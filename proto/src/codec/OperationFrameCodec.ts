import type { KeyValue, Operation, OperationFrame } from '../gen/meshcache/v1/cache.js';
import { CodecError } from './CodecError.js';
import { asBuffer, EMPTY_BYTES, ProtoReader } from './ProtoReader.js';
import {
  checkInt32,
  checkInt64,
  checkUint32,
  int32Size,
  int64Size,
  lenSize,
  MAX_MESSAGE_BYTES,
  utf8Length,
  varint32Size,
  writeBytes,
  writeInt32,
  writeInt64,
  writeString,
  writeVarint32,
} from './ProtoWriter.js';
import { readVersion, versionSize, writeVersion } from './VersionCodec.js';

// Sizes of the Operation and KeyValue bodies of the frame being encoded, in
// the order the write pass meets them (an operation, then its entries).
let sizes: number[] = [];
let top = 0;

function keyValueSize(kv: KeyValue): number {
  let n = 0;
  if (kv.key.length !== 0) n += 1 + lenSize(kv.key.length);
  if (kv.value.length !== 0) n += 1 + lenSize(kv.value.length);
  if (kv.ttlMs !== 0) n += 1 + int64Size(checkInt64(kv.ttlMs, 'KeyValue.ttlMs'));
  return n;
}

/** Size of an Operation's body; records it and its entries' sizes in `sizes`. */
function operationSize(op: Operation): number {
  const slot = top++;
  sizes[slot] = 0; // keeps the array packed when it grows
  let n = 0;
  if (op.id !== 0) n += 1 + varint32Size(checkUint32(op.id, 'Operation.id'));
  if (op.type !== 0) n += 1 + int32Size(checkInt32(op.type, 'Operation.type'));
  if (op.cache !== '') n += 1 + lenSize(utf8Length(op.cache));
  if (op.key.length !== 0) n += 1 + lenSize(op.key.length);
  if (op.value.length !== 0) n += 1 + lenSize(op.value.length);
  if (op.ttlMs !== 0) n += 1 + int64Size(checkInt64(op.ttlMs, 'Operation.ttlMs'));
  if (op.condition !== 0) n += 1 + int32Size(checkInt32(op.condition, 'Operation.condition'));
  if (op.expectedVersion !== undefined) n += 1 + lenSize(versionSize(op.expectedVersion));
  if (op.delta !== 0) n += 1 + int64Size(checkInt64(op.delta, 'Operation.delta'));
  const keys = op.keys;
  for (let i = 0; i < keys.length; i++) n += 1 + lenSize(keys[i].length);
  const entries = op.entries;
  for (let i = 0; i < entries.length; i++) {
    const s = keyValueSize(entries[i]);
    sizes[top++] = s;
    n += 1 + lenSize(s);
  }
  if (op.consistency !== 0) n += 1 + int32Size(checkInt32(op.consistency, 'Operation.consistency'));
  if (op.returnPrevious) n += 2;
  if (op.expireCondition !== 0) {
    n += 1 + int32Size(checkInt32(op.expireCondition, 'Operation.expireCondition'));
  }
  if (op.keepTtl) n += 2;
  // Field 16 and up: a two-byte tag.
  if (op.expiresAtMs !== 0) n += 2 + int64Size(checkInt64(op.expiresAtMs, 'Operation.expiresAtMs'));
  sizes[slot] = n;
  return n;
}

function writeKeyValue(buf: Buffer, pos: number, kv: KeyValue): number {
  if (kv.key.length !== 0) {
    buf[pos++] = 10;
    pos = writeBytes(buf, pos, kv.key);
  }
  if (kv.value.length !== 0) {
    buf[pos++] = 18;
    pos = writeBytes(buf, pos, kv.value);
  }
  if (kv.ttlMs !== 0) {
    buf[pos++] = 24;
    pos = writeInt64(buf, pos, kv.ttlMs);
  }
  return pos;
}

function writeOperation(buf: Buffer, pos: number, op: Operation): number {
  if (op.id !== 0) {
    buf[pos++] = 8;
    pos = writeVarint32(buf, pos, op.id);
  }
  if (op.type !== 0) {
    buf[pos++] = 16;
    pos = writeInt32(buf, pos, op.type);
  }
  if (op.cache !== '') {
    buf[pos++] = 26;
    pos = writeString(buf, pos, op.cache, utf8Length(op.cache));
  }
  if (op.key.length !== 0) {
    buf[pos++] = 34;
    pos = writeBytes(buf, pos, op.key);
  }
  if (op.value.length !== 0) {
    buf[pos++] = 42;
    pos = writeBytes(buf, pos, op.value);
  }
  if (op.ttlMs !== 0) {
    buf[pos++] = 48;
    pos = writeInt64(buf, pos, op.ttlMs);
  }
  if (op.condition !== 0) {
    buf[pos++] = 56;
    pos = writeInt32(buf, pos, op.condition);
  }
  if (op.expectedVersion !== undefined) {
    buf[pos++] = 66;
    pos = writeVarint32(buf, pos, versionSize(op.expectedVersion));
    pos = writeVersion(buf, pos, op.expectedVersion);
  }
  if (op.delta !== 0) {
    buf[pos++] = 72;
    pos = writeInt64(buf, pos, op.delta);
  }
  const keys = op.keys;
  for (let i = 0; i < keys.length; i++) {
    buf[pos++] = 82;
    pos = writeBytes(buf, pos, keys[i]);
  }
  const entries = op.entries;
  for (let i = 0; i < entries.length; i++) {
    buf[pos++] = 90;
    pos = writeVarint32(buf, pos, sizes[top++]);
    pos = writeKeyValue(buf, pos, entries[i]);
  }
  if (op.consistency !== 0) {
    buf[pos++] = 96;
    pos = writeInt32(buf, pos, op.consistency);
  }
  if (op.returnPrevious) {
    buf[pos++] = 104;
    buf[pos++] = 1;
  }
  if (op.expireCondition !== 0) {
    buf[pos++] = 112;
    pos = writeInt32(buf, pos, op.expireCondition);
  }
  if (op.keepTtl) {
    buf[pos++] = 120;
    buf[pos++] = 1;
  }
  if (op.expiresAtMs !== 0) {
    buf[pos++] = 128; // tag 128 (field 16, varint) as a varint: 0x80 0x01
    buf[pos++] = 1;
    pos = writeInt64(buf, pos, op.expiresAtMs);
  }
  return pos;
}

/**
 * Encodes an OperationFrame into one exactly-sized Buffer, byte for byte what
 * the generated `OperationFrame.encode` writes. Throws `CodecError` for values
 * outside their field's range (for example a non-integer or unsafe ttlMs).
 */
export function encodeOperationFrame(frame: OperationFrame): Buffer {
  const ops = frame.ops;
  top = 0;
  let size = 0;
  for (let i = 0; i < ops.length; i++) size += 1 + lenSize(operationSize(ops[i]));
  if (size > MAX_MESSAGE_BYTES) throw new CodecError(`frame too large: ${size} bytes`);
  const buf = Buffer.allocUnsafe(size);
  top = 0;
  let pos = 0;
  for (let i = 0; i < ops.length; i++) {
    buf[pos++] = 10;
    pos = writeVarint32(buf, pos, sizes[top++]);
    pos = writeOperation(buf, pos, ops[i]);
  }
  if (pos !== size) throw new CodecError(`internal error: wrote ${pos} of ${size} bytes`);
  if (sizes.length > 65536) sizes = [];
  return buf;
}

/**
 * The number of bytes an operation adds to an encoded OperationFrame (its tag,
 * length prefix and body), for callers that fill frames up to a byte limit.
 */
export function encodedOperationSize(op: Operation): number {
  top = 0;
  return 1 + lenSize(operationSize(op));
}

function readKeyValue(r: ProtoReader): KeyValue {
  const saved = r.enter();
  const kv: KeyValue = { key: EMPTY_BYTES, value: EMPTY_BYTES, ttlMs: 0 };
  while (r.pos < r.end) {
    const tag = r.tag();
    switch (tag) {
      case 10:
        kv.key = r.bytes();
        break;
      case 18:
        kv.value = r.bytes();
        break;
      case 24:
        kv.ttlMs = r.int64();
        break;
      default:
        r.skip(tag);
    }
  }
  r.leave(saved);
  return kv;
}

function readOperation(r: ProtoReader): Operation {
  const saved = r.enter();
  const op: Operation = {
    id: 0,
    type: 0,
    cache: '',
    key: EMPTY_BYTES,
    value: EMPTY_BYTES,
    ttlMs: 0,
    condition: 0,
    expectedVersion: undefined,
    delta: 0,
    keys: [],
    entries: [],
    consistency: 0,
    returnPrevious: false,
    expireCondition: 0,
    keepTtl: false,
    expiresAtMs: 0,
  };
  while (r.pos < r.end) {
    const tag = r.tag();
    switch (tag) {
      case 8:
        op.id = r.uint32();
        break;
      case 16:
        op.type = r.int32();
        break;
      case 26:
        op.cache = r.string();
        break;
      case 34:
        op.key = r.bytes();
        break;
      case 42:
        op.value = r.bytes();
        break;
      case 48:
        op.ttlMs = r.int64();
        break;
      case 56:
        op.condition = r.int32();
        break;
      case 66:
        op.expectedVersion = readVersion(r);
        break;
      case 72:
        op.delta = r.int64();
        break;
      case 82:
        op.keys.push(r.bytes());
        break;
      case 90:
        op.entries.push(readKeyValue(r));
        break;
      case 96:
        op.consistency = r.int32();
        break;
      case 104:
        op.returnPrevious = r.bool();
        break;
      case 112:
        op.expireCondition = r.int32();
        break;
      case 120:
        op.keepTtl = r.bool();
        break;
      case 128:
        op.expiresAtMs = r.int64();
        break;
      default:
        r.skip(tag);
    }
  }
  r.leave(saved);
  return op;
}

/**
 * Decodes an OperationFrame into the generated interfaces. ZERO-COPY: every
 * `bytes` field (key, value, keys[], entries[].key/value) is a view of
 * `input`; copy what outlives the input or must not pin it in memory. Unknown
 * fields are skipped. Throws `CodecError` on malformed input.
 */
export function decodeOperationFrame(input: Uint8Array): OperationFrame {
  const r = new ProtoReader(asBuffer(input));
  const ops: Operation[] = [];
  while (r.pos < r.end) {
    const tag = r.tag();
    if (tag === 10) ops.push(readOperation(r));
    else r.skip(tag);
  }
  return { ops };
}
