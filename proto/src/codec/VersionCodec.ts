import type { Version } from '../gen/meshcache/v1/cache.js';
import type { ProtoReader } from './ProtoReader.js';
import {
  checkUint32,
  checkUint64,
  int64Size,
  varint32Size,
  writeInt64,
  writeVarint32,
} from './ProtoWriter.js';

/** Encoded size of a Version's body (without tag and length prefix); validates its fields. */
export function versionSize(v: Version): number {
  let n = 0;
  if (v.physicalMs !== 0) n += 1 + int64Size(checkUint64(v.physicalMs, 'Version.physicalMs'));
  if (v.logical !== 0) n += 1 + varint32Size(checkUint32(v.logical, 'Version.logical'));
  if (v.node !== 0) n += 1 + varint32Size(checkUint32(v.node, 'Version.node'));
  return n;
}

/** Writes a Version's body; `versionSize` must have validated it. */
export function writeVersion(buf: Buffer, pos: number, v: Version): number {
  if (v.physicalMs !== 0) {
    buf[pos++] = 8;
    pos = writeInt64(buf, pos, v.physicalMs);
  }
  if (v.logical !== 0) {
    buf[pos++] = 16;
    pos = writeVarint32(buf, pos, v.logical);
  }
  if (v.node !== 0) {
    buf[pos++] = 24;
    pos = writeVarint32(buf, pos, v.node);
  }
  return pos;
}

/** Decodes a length-delimited Version at the reader's position. */
export function readVersion(r: ProtoReader): Version {
  const saved = r.enter();
  const v: Version = { physicalMs: 0, logical: 0, node: 0 };
  while (r.pos < r.end) {
    const tag = r.tag();
    switch (tag) {
      case 8:
        v.physicalMs = r.uint64();
        break;
      case 16:
        v.logical = r.uint32();
        break;
      case 24:
        v.node = r.uint32();
        break;
      default:
        r.skip(tag);
    }
  }
  r.leave(saved);
  return v;
}
