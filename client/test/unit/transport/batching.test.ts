// Uses FakeCacheNode, an in-process TEST DOUBLE of a meshcache node (a minimal
// grpc-js server over a Map); the real node is written in node/, and
// end-to-end tests against it live in e2e/.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { OpType } from '@meshcache/proto';
import { createClient } from '../../../src/createClient.js';
import type { MeshcacheClient } from '../../../src/MeshcacheClient.js';
import { FakeCacheNode } from '../support/FakeCacheNode.js';

describe('batching', () => {
  const node = new FakeCacheNode({ maxFrameBytes: 8 * 1024 });
  let client: MeshcacheClient;

  beforeAll(async () => {
    await node.start();
    client = createClient({ url: node.address, maxOpsPerFrame: 64 });
    await client.connect();
  });

  afterAll(async () => {
    await client.close();
    node.stop();
  });

  beforeEach(() => {
    node.frames.length = 0;
    node.recordFrames = true;
    node.reverseReplies = false;
    node.splitReplies = false;
  });

  it('sends the calls of one tick as one frame, with distinct ids', async () => {
    const calls = [];
    for (let i = 0; i < 50; i++) calls.push(client.set(`k${i}`, i));
    for (let i = 0; i < 10; i++) calls.push(client.get(`k${i}`));
    await Promise.all(calls);
    expect(node.frames).toHaveLength(1);
    const ops = node.frames[0]!.ops;
    expect(ops).toHaveLength(60);
    expect(new Set(ops.map((op) => op.id)).size).toBe(60);
    expect(ops.every((op) => op.id > 0)).toBe(true);
    expect(ops.filter((op) => op.type === OpType.GET)).toHaveLength(10);
  });

  it('keeps batching when each caller awaits in a loop (one frame per round)', async () => {
    const callers = 16;
    const rounds = 5;
    await Promise.all(
      Array.from({ length: callers }, async (_, c) => {
        for (let r = 0; r < rounds; r++) await client.get(`loop-${c}`);
      }),
    );
    expect(node.frames).toHaveLength(rounds);
    expect(node.frames.every((f) => f.ops.length === callers)).toBe(true);
  });

  it('splits a tick at maxOpsPerFrame', async () => {
    await Promise.all(Array.from({ length: 150 }, (_, i) => client.get(`s${i}`)));
    expect(node.frames.map((f) => f.ops.length)).toEqual([64, 64, 22]);
  });

  it("splits under the node's frame byte limit", async () => {
    const value = 'x'.repeat(1000);
    await Promise.all(Array.from({ length: 20 }, (_, i) => client.set(`big${i}`, value)));
    expect(node.frames.length).toBeGreaterThan(2);
    expect(node.frames.reduce((n, f) => n + f.ops.length, 0)).toBe(20);
    for (const frame of node.frames) {
      const bytes = frame.ops.reduce((n, op) => n + op.value.length, 0);
      expect(bytes).toBeLessThanOrEqual(8 * 1024);
    }
  });

  it("honours the node's own lower ops-per-frame limit", async () => {
    const small = new FakeCacheNode({ maxOpsPerFrame: 8 });
    await small.start();
    const c = createClient({ url: small.address });
    try {
      small.recordFrames = true;
      await Promise.all(Array.from({ length: 20 }, (_, i) => c.get(`n${i}`)));
      expect(small.frames.map((f) => f.ops.length)).toEqual([8, 8, 4]);
    } finally {
      await c.close();
      small.stop();
    }
  });

  it('fails only the op that cannot be encoded, and sends the rest of its frame', async () => {
    const bad = { physicalMs: -1, logical: 0, node: 0 }; // not a uint64
    const calls = [client.set('e1', 1), client.compareAndSet('e1', bad, 2), client.get('e1')];
    const [set, cas, get] = await Promise.allSettled(calls);
    expect(set).toEqual({ status: 'fulfilled', value: true });
    expect(cas).toMatchObject({ status: 'rejected', reason: { code: 'INVALID_ARGUMENT' } });
    expect(get).toEqual({ status: 'fulfilled', value: 1 });
  });

  it('matches results that come back in any order', async () => {
    node.reverseReplies = true;
    await Promise.all(Array.from({ length: 30 }, (_, i) => client.set(`r${i}`, i)));
    const values = await Promise.all(Array.from({ length: 30 }, (_, i) => client.get(`r${i}`)));
    expect(values).toEqual(Array.from({ length: 30 }, (_, i) => i));
  });

  it('matches results that come back across several frames', async () => {
    node.splitReplies = true;
    const values = await Promise.all(Array.from({ length: 30 }, (_, i) => client.get(`r${i}`)));
    expect(values).toEqual(Array.from({ length: 30 }, (_, i) => i));
  });
});
