/**
 * What one entry costs beyond its key and value bytes, so that a cache's byte
 * budget is real memory: Entry.bytes = key.length + value.length + this.
 *
 * Measured on Node 24.21 (V8 13.6, x64, no pointer compression) by
 * bench/src/storeOverhead.ts (`node --expose-gc bench/dist/storeOverhead.js`):
 * stores of 530k to 1.06M entries of 16-byte keys and 100-byte values in
 * steady state (3x capacity inserted, so evicting), TTL on every entry, node
 * tag above 2^31; heap used + external after full GCs, per entry, minus 116.
 * It is the Entry object (11 fields), boxed doubles for the version, expiry
 * and node tag, two string headers, the Map slot (between 1x and 2x of 28 bytes
 * as V8's table doubles), the TTL array slot and, for S3-FIFO, the ghost table.
 * Results: LRU 233-284 bytes, S3-FIFO 242-293; the worst, 292.6 for S3-FIFO
 * just past a Map doubling, rounded up to a multiple of 8.
 */
export const ENTRY_OVERHEAD_BYTES = 296;
