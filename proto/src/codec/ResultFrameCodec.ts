import type { Entry, Result, ResultFrame } from '../gen/meshcache/v1/cache.js';
import { CodecError } from './CodecError.js';
import { asBuffer, EMPTY_BYTES, ProtoReader } from './ProtoReader.js';
import {
  checkInt32,
  checkInt64,
  checkUint32,
  checkUint64,
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

// Sizes of the Result and Entry bodies of the frame being encoded, in the
// order the write pass meets them (a result, then its entries).
let sizes: number[] = [];
let top = 0;

function entrySize(e: Entry): number {
  let n = 0;
  if (e.found) n += 2;
  if (e.value.length !== 0) n += 1 + lenSize(e.value.length);
  if (e.version !== undefined) n += 1 + lenSize(versionSize(e.version));
  if (e.ttlMs !== 0) n += 1 + int64Size(checkInt64(e.ttlMs, 'Entry.ttlMs'));
  return n;
}

/** Size of a Result's body; records it and its entries' sizes in `sizes`. */
function resultSize(res: Result): number {
  const slot = top++;
  sizes[slot] = 0; // keeps the array packed when it grows
  let n = 0;
  if (res.id !== 0) n += 1 + varint32Size(checkUint32(res.id, 'Result.id'));
  if (res.code !== 0) n += 1 + int32Size(checkInt32(res.code, 'Result.code'));
  if (res.message !== '') n += 1 + lenSize(utf8Length(res.message));
  if (res.found) n += 2;
  if (res.value.length !== 0) n += 1 + lenSize(res.value.length);
  if (res.version !== undefined) n += 1 + lenSize(versionSize(res.version));
  if (res.ttlMs !== 0) n += 1 + int64Size(checkInt64(res.ttlMs, 'Result.ttlMs'));
  if (res.applied) n += 2;
  if (res.number !== 0) n += 1 + int64Size(checkInt64(res.number, 'Result.number'));
  const entries = res.entries;
  for (let i = 0; i < entries.length; i++) {
    const s = entrySize(entries[i]);
    sizes[top++] = s;
    n += 1 + lenSize(s);
  }
  sizes[slot] = n;
  return n;
}

function writeEntry(buf: Buffer, pos: number, e: Entry): number {
  if (e.found) {
    buf[pos++] = 8;
    buf[pos++] = 1;
  }
  if (e.value.length !== 0) {
    buf[pos++] = 18;
    pos = writeBytes(buf, pos, e.value);
  }
  if (e.version !== undefined) {
    buf[pos++] = 26;
    pos = writeVarint32(buf, pos, versionSize(e.version));
    pos = writeVersion(buf, pos, e.version);
  }
  if (e.ttlMs !== 0) {
    buf[pos++] = 32;
    pos = writeInt64(buf, pos, e.ttlMs);
  }
  return pos;
}

function writeResult(buf: Buffer, pos: number, res: Result): number {
  if (res.id !== 0) {
    buf[pos++] = 8;
    pos = writeVarint32(buf, pos, res.id);
  }
  if (res.code !== 0) {
    buf[pos++] = 16;
    pos = writeInt32(buf, pos, res.code);
  }
  if (res.message !== '') {
    buf[pos++] = 26;
    pos = writeString(buf, pos, res.message, utf8Length(res.message));
  }
  if (res.found) {
    buf[pos++] = 32;
    buf[pos++] = 1;
  }
  if (res.value.length !== 0) {
    buf[pos++] = 42;
    pos = writeBytes(buf, pos, res.value);
  }
  if (res.version !== undefined) {
    buf[pos++] = 50;
    pos = writeVarint32(buf, pos, versionSize(res.version));
    pos = writeVersion(buf, pos, res.version);
  }
  if (res.ttlMs !== 0) {
    buf[pos++] = 56;
    pos = writeInt64(buf, pos, res.ttlMs);
  }
  if (res.applied) {
    buf[pos++] = 64;
    buf[pos++] = 1;
  }
  if (res.number !== 0) {
    buf[pos++] = 72;
    pos = writeInt64(buf, pos, res.number);
  }
  const entries = res.entries;
  for (let i = 0; i < entries.length; i++) {
    buf[pos++] = 82;
    pos = writeVarint32(buf, pos, sizes[top++]);
    pos = writeEntry(buf, pos, entries[i]);
  }
  return pos;
}

/**
 * Encodes a ResultFrame into one exactly-sized Buffer, byte for byte what the
 * generated `ResultFrame.encode` writes. Throws `CodecError` for values
 * outside their field's range.
 */
export function encodeResultFrame(frame: ResultFrame): Buffer {
  const results = frame.results;
  top = 0;
  let size = 0;
  if (frame.epoch !== 0) size += 1 + int64Size(checkUint64(frame.epoch, 'ResultFrame.epoch'));
  for (let i = 0; i < results.length; i++) size += 1 + lenSize(resultSize(results[i]));
  if (frame.error !== 0) size += 1 + int32Size(checkInt32(frame.error, 'ResultFrame.error'));
  if (frame.errorMessage !== '') size += 1 + lenSize(utf8Length(frame.errorMessage));
  if (size > MAX_MESSAGE_BYTES) throw new CodecError(`frame too large: ${size} bytes`);
  const buf = Buffer.allocUnsafe(size);
  top = 0;
  let pos = 0;
  if (frame.epoch !== 0) {
    buf[pos++] = 8;
    pos = writeInt64(buf, pos, frame.epoch);
  }
  for (let i = 0; i < results.length; i++) {
    buf[pos++] = 18;
    pos = writeVarint32(buf, pos, sizes[top++]);
    pos = writeResult(buf, pos, results[i]);
  }
  if (frame.error !== 0) {
    buf[pos++] = 24;
    pos = writeInt32(buf, pos, frame.error);
  }
  if (frame.errorMessage !== '') {
    buf[pos++] = 34;
    pos = writeString(buf, pos, frame.errorMessage, utf8Length(frame.errorMessage));
  }
  if (pos !== size) throw new CodecError(`internal error: wrote ${pos} of ${size} bytes`);
  if (sizes.length > 65536) sizes = [];
  return buf;
}

function readEntry(r: ProtoReader): Entry {
  const saved = r.enter();
  const e: Entry = { found: false, value: EMPTY_BYTES, version: undefined, ttlMs: 0 };
  while (r.pos < r.end) {
    const tag = r.tag();
    switch (tag) {
      case 8:
        e.found = r.bool();
        break;
      case 18:
        e.value = r.bytes();
        break;
      case 26:
        e.version = readVersion(r);
        break;
      case 32:
        e.ttlMs = r.int64();
        break;
      default:
        r.skip(tag);
    }
  }
  r.leave(saved);
  return e;
}

function readResult(r: ProtoReader): Result {
  const saved = r.enter();
  const res: Result = {
    id: 0,
    code: 0,
    message: '',
    found: false,
    value: EMPTY_BYTES,
    version: undefined,
    ttlMs: 0,
    applied: false,
    number: 0,
    entries: [],
  };
  while (r.pos < r.end) {
    const tag = r.tag();
    switch (tag) {
      case 8:
        res.id = r.uint32();
        break;
      case 16:
        res.code = r.int32();
        break;
      case 26:
        res.message = r.string();
        break;
      case 32:
        res.found = r.bool();
        break;
      case 42:
        res.value = r.bytes();
        break;
      case 50:
        res.version = readVersion(r);
        break;
      case 56:
        res.ttlMs = r.int64();
        break;
      case 64:
        res.applied = r.bool();
        break;
      case 72:
        res.number = r.int64();
        break;
      case 82:
        res.entries.push(readEntry(r));
        break;
      default:
        r.skip(tag);
    }
  }
  r.leave(saved);
  return res;
}

/**
 * Decodes a ResultFrame into the generated interfaces. ZERO-COPY: every
 * `bytes` field (value, entries[].value) is a view of `input`; copy what
 * outlives the input or must not pin it in memory. Unknown fields are skipped.
 * Throws `CodecError` on malformed input.
 */
export function decodeResultFrame(input: Uint8Array): ResultFrame {
  const r = new ProtoReader(asBuffer(input));
  const frame: ResultFrame = { epoch: 0, results: [], error: 0, errorMessage: '' };
  while (r.pos < r.end) {
    const tag = r.tag();
    switch (tag) {
      case 8:
        frame.epoch = r.uint64();
        break;
      case 18:
        frame.results.push(readResult(r));
        break;
      case 24:
        frame.error = r.int32();
        break;
      case 34:
        frame.errorMessage = r.string();
        break;
      default:
        r.skip(tag);
    }
  }
  return frame;
}
