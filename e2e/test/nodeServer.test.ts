// End-to-end: a real meshcache-node process on loopback, driven over real gRPC
// and HTTP. No test doubles.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ErrorCode, MemberState, OpType, SetCondition } from '@meshcache/proto';
import { NodeProcess } from '../src/NodeProcess.js';
import { op, RawCacheClient } from '../src/RawCacheClient.js';
import { waitFor } from '../src/waitFor.js';

const k = (s: string) => Buffer.from(s);

describe('meshcache-node', () => {
  let node: NodeProcess;
  let client: RawCacheClient;

  beforeAll(async () => {
    node = await NodeProcess.start({
      // `small` is a few segments beyond the store's fixed part (about 74 KiB with the default
      // 64 KiB maxKeyBytes), so a few hundred 512-byte values overflow it.
      args: [
        '--caches',
        '[{name: default}, {name: small, maxMemoryBytes: 256Ki, maxValueBytes: 1Ki, evictionPolicy: lru}]',
      ],
    });
    client = new RawCacheClient(node.grpcAddress);
  });

  afterAll(async () => {
    client?.close();
    await node?.stop();
  });

  it('answers health, readiness and info', async () => {
    expect((await fetch(`${node.adminUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${node.adminUrl}/readyz`)).status).toBe(200);
    const info = (await (await fetch(`${node.adminUrl}/v1/info`)).json()) as {
      id: string;
      caches: { name: string }[];
    };
    expect(info.id).toBe(node.id);
    expect(info.caches.map((c) => c.name)).toEqual(['default', 'small']);
  });

  it('handshakes, pings and streams the single-node topology', async () => {
    const hs = await client.handshake([1]);
    expect(hs.code).toBe(ErrorCode.OK);
    expect(hs.protocolVersion).toBe(1);
    expect(hs.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(hs.nodeId).toBe(node.id);
    expect(hs.epoch).toBeGreaterThan(0);
    const pong = await client.ping(Buffer.from('abc'));
    expect(Buffer.from(pong.payload).toString()).toBe('abc');
    expect(pong.epoch).toBe(hs.epoch);

    const watch = client.watchTopology(0);
    const topology = await new Promise<import('@meshcache/proto').Topology>((resolve, reject) => {
      watch.once('data', resolve);
      watch.once('error', reject);
    });
    watch.cancel();
    expect(topology.epoch).toBe(hs.epoch);
    expect(topology.members).toHaveLength(1);
    expect(topology.members[0]!.state).toBe(MemberState.ALIVE);
    expect(topology.members[0]!.grpcAddress).toBe(node.grpcAddress);
    expect(topology.ranges).toEqual([{ start: 0, end: 16383, replicas: [node.id] }]);
  });

  it('runs every operation type over one stream, many per frame', async () => {
    const s = client.openStream();
    const frame = await s.roundTrip([
      op({ id: 1, type: OpType.SET, key: k('a'), value: k('1') }),
      op({ id: 2, type: OpType.GET, key: k('a') }),
      op({ id: 3, type: OpType.SET, key: k('a'), value: k('x'), condition: SetCondition.IF_ABSENT }),
      op({ id: 4, type: OpType.SET, key: k('b'), value: k('2'), condition: SetCondition.IF_PRESENT }),
      op({ id: 5, type: OpType.INCREMENT, key: k('a'), delta: 41 }),
      op({
        id: 6,
        type: OpType.SET_MANY,
        entries: [
          { key: k('m1'), value: k('v1'), ttlMs: 0 },
          { key: k('m2'), value: k('v2'), ttlMs: 60_000 },
        ],
      }),
      op({ id: 7, type: OpType.GET_MANY, keys: [k('m1'), k('nope'), k('m2')] }),
      op({ id: 8, type: OpType.DELETE, key: k('m1') }),
      op({ id: 9, type: OpType.DELETE, key: k('m1') }),
      op({ id: 10, type: OpType.TOUCH, key: k('a'), ttlMs: 120_000 }),
      op({ id: 11, type: OpType.GET, key: k('a') }),
      op({ id: 12, type: OpType.SET, key: k('a'), value: k('y'), returnPrevious: true }),
    ]);
    expect(frame.error).toBe(ErrorCode.OK);
    const r = new Map(frame.results.map((x) => [x.id, x]));
    expect(frame.results.every((x) => x.code === ErrorCode.OK)).toBe(true);
    expect(r.get(1)!.applied).toBe(true);
    expect(Buffer.from(r.get(2)!.value).toString()).toBe('1');
    expect(r.get(2)!.ttlMs).toBe(-1);
    expect(r.get(3)!.applied).toBe(false);
    expect(r.get(4)!.applied).toBe(false);
    expect(r.get(5)!.number).toBe(42);
    expect(r.get(6)!.number).toBe(2);
    expect(r.get(7)!.entries.map((e) => e.found)).toEqual([true, false, true]);
    expect(Buffer.from(r.get(7)!.entries[2]!.value).toString()).toBe('v2');
    expect(r.get(7)!.entries[2]!.ttlMs).toBeGreaterThan(0);
    expect(r.get(8)!.found).toBe(true);
    expect(r.get(9)!.found).toBe(false);
    expect(r.get(10)!.found).toBe(true);
    expect(Buffer.from(r.get(11)!.value).toString()).toBe('42');
    expect(r.get(11)!.ttlMs).toBeGreaterThan(100_000);
    expect(Buffer.from(r.get(12)!.value).toString()).toBe('42');

    // Compare-and-set succeeds only on the current version.
    const got = (await s.roundTrip([op({ id: 20, type: OpType.GET, key: k('a') })])).results[0]!;
    const stale = { ...got.version!, logical: got.version!.logical + 1 };
    const cas = await s.roundTrip([
      op({ id: 21, type: OpType.COMPARE_AND_SET, key: k('a'), value: k('z'), expectedVersion: stale }),
      op({ id: 22, type: OpType.COMPARE_AND_SET, key: k('a'), value: k('z'), expectedVersion: got.version }),
      op({ id: 23, type: OpType.GET, key: k('a') }),
    ]);
    expect(cas.results.map((x) => x.applied)).toEqual([false, true, false]);
    expect(Buffer.from(cas.results[2]!.value).toString()).toBe('z');
    s.end();
  });

  it('expires entries lazily and actively', async () => {
    const s = client.openStream();
    await s.roundTrip([op({ id: 1, type: OpType.SET, key: k('short'), value: k('v'), ttlMs: 30 })]);
    await waitFor(
      async () => !(await s.roundTrip([op({ id: 2, type: OpType.GET, key: k('short') })])).results[0]!.found,
      {
        what: 'lazy expiry of a 30 ms entry',
      },
    );
    // 200 entries nobody reads again: only the active cycle can remove them.
    const ops = Array.from({ length: 200 }, (_, i) =>
      op({ id: 100 + i, type: OpType.SET, cache: 'small', key: k(`ttl-${i}`), value: k('v'), ttlMs: 20 }),
    );
    await s.roundTrip(ops);
    const keysOfSmall = async () => {
      const info = (await (await fetch(`${node.adminUrl}/v1/info`)).json()) as {
        caches: { name: string; keys: number; stats: { expirations: number } }[];
      };
      return info.caches.find((c) => c.name === 'small')!;
    };
    const small = await waitFor(
      async () => {
        const c = await keysOfSmall();
        return c.keys === 0 ? c : undefined;
      },
      { what: 'active expiry to empty the small cache' },
    );
    expect(small.stats.expirations).toBeGreaterThanOrEqual(200);
    s.end();
  });

  it('evicts to stay within the byte budget and counts evictions', async () => {
    const s = client.openStream();
    const value = Buffer.alloc(512, 'v');
    for (let batch = 0; batch < 10; batch++) {
      const ops = Array.from({ length: 50 }, (_, i) =>
        op({ id: i, type: OpType.SET, cache: 'small', key: k(`ev-${batch}-${i}`), value }),
      );
      const res = await s.roundTrip(ops);
      expect(res.results.every((x) => x.code === ErrorCode.OK)).toBe(true);
    }
    const info = (await (await fetch(`${node.adminUrl}/v1/info`)).json()) as {
      caches: { name: string; usedBytes: number; maxMemoryBytes: number; stats: { evictions: number } }[];
    };
    const small = info.caches.find((c) => c.name === 'small')!;
    expect(small.usedBytes).toBeLessThanOrEqual(small.maxMemoryBytes);
    expect(small.stats.evictions).toBeGreaterThan(0);
    s.end();
  });

  it('exports Prometheus metrics for operations, keys and bytes', async () => {
    const text = await (await fetch(`${node.adminUrl}/metrics`)).text();
    expect(text).toMatch(
      /meshcache_operations_total\{cache="default",op="GET",result="OK",node="[^"]+"\} \d+/,
    );
    expect(text).toMatch(
      /meshcache_operation_duration_seconds_bucket\{cache="default",op="SET",le="\+Inf",node="[^"]+"\} \d+/,
    );
    expect(text).toMatch(/meshcache_cache_keys\{cache="default",node="[^"]+"\} \d+/);
    expect(text).toMatch(/meshcache_cache_bytes\{cache="small",node="[^"]+"\} \d+/);
    expect(text).toMatch(/meshcache_evictions_total\{cache="small",node="[^"]+"\} [1-9]\d*/);
    expect(text).toMatch(/meshcache_expirations_total\{cache="small",node="[^"]+"\} [1-9]\d*/);
    expect(text).toMatch(/^process_resident_memory_bytes\{node="[^"]+"\} \d+/m);
  });
});
