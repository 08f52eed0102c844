// End-to-end: bad input against a real meshcache-node process. Each case gets
// a stable error code, the stream stays usable where the protocol allows, and
// another client's stream is unaffected throughout.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ErrorCode, OpType } from '@meshcache/proto';
import { type ExecuteStream, op, RawCacheClient } from '../src/RawCacheClient.js';
import { NodeProcess } from '../src/NodeProcess.js';

const k = (s: string) => Buffer.from(s);

describe('bad input', () => {
  let node: NodeProcess;
  let client: RawCacheClient;
  let bystander: RawCacheClient;
  let bystanderStream: ExecuteStream;
  let bystanderRound = 0;

  /** The other client keeps working: it writes and reads back a fresh value. */
  async function bystanderStillWorks(): Promise<void> {
    const n = ++bystanderRound;
    const res = await bystanderStream.roundTrip([
      op({ id: 1, type: OpType.SET, key: k('bystander'), value: k(String(n)) }),
      op({ id: 2, type: OpType.GET, key: k('bystander') }),
    ]);
    expect(Buffer.from(res.results[1]!.value).toString()).toBe(String(n));
  }

  beforeAll(async () => {
    node = await NodeProcess.start({
      args: [
        '--max-key-bytes',
        '256',
        '--max-ops-per-frame',
        '100',
        '--caches',
        '[{name: default, maxValueBytes: 1Ki}]',
      ],
    });
    client = new RawCacheClient(node.grpcAddress);
    bystander = new RawCacheClient(node.grpcAddress);
    bystanderStream = bystander.openStream();
    await bystanderStillWorks();
  });

  afterAll(async () => {
    bystanderStream?.end();
    client?.close();
    bystander?.close();
    await node?.stop();
  });

  it.each([
    [
      'oversized key',
      op({ id: 1, type: OpType.SET, key: Buffer.alloc(257, 'k'), value: k('v') }),
      ErrorCode.KEY_TOO_LARGE,
      /257 bytes; the limit is 256 \(maxKeyBytes\)/,
    ],
    [
      'oversized value',
      op({ id: 1, type: OpType.SET, key: k('v'), value: Buffer.alloc(1025) }),
      ErrorCode.VALUE_TOO_LARGE,
      /1025.*1024.*maxValueBytes/,
    ],
    [
      'unknown cache',
      op({ id: 1, type: OpType.GET, cache: 'nope', key: k('a') }),
      ErrorCode.UNKNOWN_CACHE,
      /unknown cache 'nope'; this node serves: default/,
    ],
    [
      'negative TTL',
      op({ id: 1, type: OpType.SET, key: k('a'), value: k('v'), ttlMs: -5 }),
      ErrorCode.INVALID_TTL,
      /-5/,
    ],
    [
      'unknown operation type',
      op({ id: 1, type: 99 as OpType, key: k('a') }),
      ErrorCode.INVALID_ARGUMENT,
      /unknown operation type 99/,
    ],
    [
      'increment of text',
      op({ id: 1, type: OpType.INCREMENT, key: k('bystander-text'), delta: 1 }),
      ErrorCode.NOT_AN_INTEGER,
      /not an integer/,
    ],
  ])('%s gets a stable code and the stream stays usable', async (_name, bad, code, message) => {
    const s = client.openStream();
    await s.roundTrip([op({ id: 50, type: OpType.SET, key: k('bystander-text'), value: k('hello') })]);
    const res = await s.roundTrip([bad, op({ id: 2, type: OpType.SET, key: k('after'), value: k('ok') })]);
    const byId = new Map(res.results.map((r) => [r.id, r]));
    expect(byId.get(1)!.code).toBe(code);
    expect(byId.get(1)!.message).toMatch(message);
    // The good operation in the same frame ran, and the stream carries on.
    expect(byId.get(2)!.code).toBe(ErrorCode.OK);
    const again = await s.roundTrip([op({ id: 3, type: OpType.GET, key: k('after') })]);
    expect(Buffer.from(again.results[0]!.value).toString()).toBe('ok');
    s.end();
    await bystanderStillWorks();
  });

  it('a bad entry in SET_MANY writes nothing', async () => {
    const s = client.openStream();
    const res = await s.roundTrip([
      op({
        id: 1,
        type: OpType.SET_MANY,
        entries: [
          { key: k('sm-good'), value: k('v'), ttlMs: 0 },
          { key: k('sm-bad'), value: Buffer.alloc(2000), ttlMs: 0 },
        ],
      }),
      op({ id: 2, type: OpType.GET, key: k('sm-good') }),
    ]);
    expect(res.results[0]!.code).toBe(ErrorCode.VALUE_TOO_LARGE);
    expect(res.results[0]!.message).toMatch(/entries\[1\]\.value/);
    expect(res.results[1]!.found).toBe(false);
    s.end();
  });

  it('a malformed frame gets MALFORMED_FRAME and the same stream keeps working', async () => {
    const s = client.openStream();
    // Field 1 (ops), wire type 2, claims 100 bytes but carries 3: truncated.
    s.sendRaw(Buffer.from([0x0a, 0x64, 0x01, 0x02, 0x03]));
    const bad = await s.next();
    expect(bad.error).toBe(ErrorCode.MALFORMED_FRAME);
    expect(bad.errorMessage).toMatch(/could not be decoded/);
    s.sendRaw(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
    expect((await s.next()).error).toBe(ErrorCode.MALFORMED_FRAME);
    const good = await s.roundTrip([
      op({ id: 1, type: OpType.SET, key: k('m'), value: k('v') }),
      op({ id: 2, type: OpType.GET, key: k('m') }),
    ]);
    expect(good.error).toBe(ErrorCode.OK);
    expect(Buffer.from(good.results[1]!.value).toString()).toBe('v');
    s.end();
    await bystanderStillWorks();
  });

  it('a frame over the operation limit is refused whole, with the limit named', async () => {
    const s = client.openStream();
    const ops = Array.from({ length: 101 }, (_, i) =>
      op({ id: i, type: OpType.SET, key: k(`big-${i}`), value: k('v') }),
    );
    const res = await s.roundTrip(ops);
    expect(res.error).toBe(ErrorCode.BATCH_TOO_LARGE);
    expect(res.errorMessage).toMatch(/101 operations; the limit is 100 \(maxOpsPerFrame\)/);
    expect(res.results).toHaveLength(101);
    expect(res.results.every((r) => r.code === ErrorCode.BATCH_TOO_LARGE)).toBe(true);
    const check = await s.roundTrip([op({ id: 1, type: OpType.GET, key: k('big-0') })]);
    expect(check.results[0]!.found).toBe(false);
    s.end();
  });

  it('an unknown protocol version is refused at handshake, on the stream and on ExecuteBatch', async () => {
    const hs = await client.handshake([99, 100]);
    expect(hs.code).toBe(ErrorCode.UNSUPPORTED_PROTOCOL);
    expect(hs.message).toMatch(/\[99, 100\].*\[1\]/);
    expect(hs.sessionId).toBe('');

    const s = client.openStream('99');
    const frame = await s.next();
    expect(frame.error).toBe(ErrorCode.UNSUPPORTED_PROTOCOL);
    expect(frame.errorMessage).toMatch(/protocol version 99 is not supported/);

    const batch = await client.executeBatch([op({ id: 1, type: OpType.GET, key: k('a') })], '99');
    expect(batch.error).toBe(ErrorCode.UNSUPPORTED_PROTOCOL);
    expect(batch.results).toHaveLength(0);
    await bystanderStillWorks();
  });

  it('ExecuteBatch runs the same operations as the stream', async () => {
    const res = await client.executeBatch(
      [
        op({ id: 1, type: OpType.SET, key: k('batch'), value: k('b') }),
        op({ id: 2, type: OpType.GET, key: k('batch') }),
        op({ id: 3, type: OpType.GET, key: Buffer.alloc(300) }),
      ],
      '1',
    );
    expect(res.error).toBe(ErrorCode.OK);
    expect(Buffer.from(res.results[1]!.value).toString()).toBe('b');
    expect(res.results[2]!.code).toBe(ErrorCode.KEY_TOO_LARGE);
    expect(res.epoch).toBeGreaterThan(0);
  });
});
