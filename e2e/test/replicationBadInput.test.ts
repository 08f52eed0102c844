// End-to-end: bad input on the replication paths of real meshcache-node
// processes. A replica stream that sends a malformed or oversized message, a
// version from the far future, a stale epoch or an unknown protocol version is
// refused with a stable code and counted in the metrics, while other replica
// streams and a normal client carry on; a request at ALL with a replica down
// gets UNAVAILABLE naming 2 of 3; a replication factor above the member count
// is capped and reported, not a crash.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { createClient, type MeshcacheClient, MeshcacheError, stringSerializer } from '@meshcache/client';
import { ErrorCode, ReplicaOpType } from '@meshcache/proto';
import { Redis } from 'ioredis';
import { Cluster, getJson } from '../src/Cluster.js';
import type { NodeProcess } from '../src/NodeProcess.js';
import {
  hlcAt,
  RawReplicaClient,
  type ReplicaStream,
  replicaAddressOf,
} from '../src/replication/RawReplicaClient.js';
import { waitFor } from '../src/waitFor.js';

jest.setTimeout(120_000);

const MAX_FRAME_BYTES = 1024 * 1024;
/** The node refuses a frame limit that cannot carry its largest value (and key) plus framing. */
const FRAME_ARGS = [
  '--max-frame-bytes',
  String(MAX_FRAME_BYTES),
  '--caches',
  '[{name: default, maxValueBytes: 512Ki}]',
];
const HOUR_MS = 3_600_000;
const k = (s: string) => Buffer.from(s);

const METRICS = {
  malformed: 'meshcache_replica_malformed_frames_total',
  staleEpoch: 'meshcache_replica_stale_epoch_refusals_total',
  clockSkew: 'meshcache_replica_clock_skew_refusals_total',
  refusedHellos: 'meshcache_replica_refused_hellos_total',
} as const;
type MetricName = keyof typeof METRICS;

/** The replica refusal counters of one node, from its Prometheus endpoint. */
async function refusalCounters(node: NodeProcess): Promise<Record<MetricName, number>> {
  const text = await (await fetch(`${node.adminUrl}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const out = {} as Record<MetricName, number>;
  for (const [name, metric] of Object.entries(METRICS) as [MetricName, string][]) {
    const m = new RegExp(`^${metric}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
    if (m === null) throw new Error(`metric ${metric} missing from ${node.id}'s /metrics`);
    out[name] = Number(m[1]);
  }
  return out;
}

interface CacheInfo {
  name: string;
  replicationFactor: number;
  effectiveReplicationFactor: number;
  replicationFactorCapped: boolean;
  keys: number;
}

function cacheInfo(node: NodeProcess, name = 'default'): Promise<CacheInfo> {
  return getJson<{ caches: CacheInfo[] }>(`${node.adminUrl}/v1/info`).then((info) =>
    info.caches.find((c) => c.name === name)!,
  );
}

/**
 * A normal client that keeps writing and reading back through the gRPC door
 * while the bad input goes on; every failure is kept for the assertions.
 */
class Bystander {
  ok = 0;
  readonly failures: string[] = [];
  private stopped = false;
  private readonly running: Promise<void>;

  constructor(readonly client: MeshcacheClient) {
    this.running = this.loop();
  }

  private async loop(): Promise<void> {
    for (let n = 0; !this.stopped; n++) {
      const key = `bystander:${n % 50}`;
      const value = `v${n}`;
      try {
        await this.client.set(key, value, { consistency: 'QUORUM', timeoutMs: 5000 });
        const got = await this.client.get<string>(key, { consistency: 'QUORUM', timeoutMs: 5000 });
        if (got !== value) this.failures.push(`${key}: wrote ${value}, read back ${String(got)}`);
        else this.ok++;
      } catch (err) {
        this.failures.push(`${key}: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Waits for `n` more successful rounds and checks that nothing failed so far. */
  async progresses(n = 5): Promise<void> {
    const target = this.ok + n;
    await waitFor(() => this.ok >= target || this.failures.length > 0, {
      timeoutMs: 15_000,
      what: `${n} more bystander rounds`,
    });
    expect(this.failures).toEqual([]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }
}

describe('replication bad input on a three-node cluster', () => {
  let cluster: Cluster;
  let target: NodeProcess;
  let raw: RawReplicaClient;
  let other: RawReplicaClient;
  /** Another replica stream to the same node, open throughout: it must keep being answered. */
  let otherStream: ReplicaStream;
  let client: MeshcacheClient;
  let clientElsewhere: MeshcacheClient;
  let bystander: Bystander;

  /** The other replica stream still answers: a READ of a key the bystander writes. */
  async function otherStreamStillWorks(): Promise<void> {
    const { reply } = await otherStream.request({ type: ReplicaOpType.READ, key: k('bystander:0') });
    expect(reply.code).toBe(ErrorCode.OK);
  }

  async function allStillWork(): Promise<void> {
    await otherStreamStillWorks();
    await bystander.progresses();
    expect(cluster.nodes.every((n) => n.exitCode === undefined)).toBe(true);
  }

  beforeAll(async () => {
    cluster = await Cluster.start(3, { args: FRAME_ARGS });
    await cluster.waitForAgreement(cluster.nodes, (v) => v.members.length === 3);
    target = cluster.nodes[1]!;
    // The client writes through another node, so the target is only ever a replica (or a forwardee).
    client = createClient({ url: cluster.nodes[0]!.grpcAddress, serializer: stringSerializer });
    clientElsewhere = createClient({ url: cluster.nodes[2]!.grpcAddress, serializer: stringSerializer });
    await waitFor(
      async () => {
        try {
          return await client.set('warm', 'up', { consistency: 'ALL', timeoutMs: 2000 });
        } catch {
          return false;
        }
      },
      { timeoutMs: 30_000, intervalMs: 200, what: 'a write at ALL to succeed (replica streams up)' },
    );
    bystander = new Bystander(client);
    raw = new RawReplicaClient(replicaAddressOf(target));
    other = new RawReplicaClient(replicaAddressOf(target));
    otherStream = await other.connect('e2e-other');
    await allStillWork();
  });

  afterAll(async () => {
    await bystander?.stop();
    otherStream?.end();
    raw?.close();
    other?.close();
    await Promise.all([client?.close(), clientElsewhere?.close()]);
    await cluster?.stopAll();
  });

  it('answers a hello with the protocol version, its id and its epoch', async () => {
    const view = await cluster.view(target);
    const s = raw.openStream();
    const hello = await s.hello([1, 7], 'e2e-hello');
    expect(hello.code).toBe(ErrorCode.OK);
    expect(hello.protocolVersion).toBe(1);
    expect(hello.nodeId).toBe(target.id);
    expect(hello.epoch).toBe(view.epoch);
    expect(hello.hlc).toBeGreaterThan(0);
    s.end();
  });

  it('refuses garbage bytes with MALFORMED_FRAME, counts them, and the same stream keeps working', async () => {
    const before = await refusalCounters(target);
    const s = raw.openStream();
    // Field 1 (hello), wire type 2, claims 100 bytes but carries 3: truncated. Before the hello, too.
    s.sendRaw(Buffer.from([0x0a, 0x64, 0x01, 0x02, 0x03]));
    const first = await s.next();
    expect(first.error).toBe(ErrorCode.MALFORMED_FRAME);
    expect(first.errorMessage).not.toBe('');
    expect(first.replies).toEqual([]);
    expect((await s.hello([1], 'e2e-garbage')).code).toBe(ErrorCode.OK);
    // A varint that never ends.
    s.sendRaw(Buffer.alloc(11, 0xff));
    const second = await s.next();
    expect(second.error).toBe(ErrorCode.MALFORMED_FRAME);
    // A request whose key field overruns the frame.
    s.sendRaw(Buffer.from([0x1a, 0x04, 0x22, 0x7f, 0x61, 0x62]));
    expect((await s.next()).error).toBe(ErrorCode.MALFORMED_FRAME);
    // A clock reading of 2^64 - 1 (field 4, varint): a uint64 this node cannot hold exactly.
    s.sendRaw(Buffer.from([0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]));
    expect((await s.next()).error).toBe(ErrorCode.MALFORMED_FRAME);
    // A valid request on the same stream is answered.
    await client.set('garbage:k', 'kept', { consistency: 'ALL' });
    const { reply, frame } = await s.request({ type: ReplicaOpType.READ, key: k('garbage:k') });
    expect(frame.error).toBe(ErrorCode.OK);
    expect(reply.code).toBe(ErrorCode.OK);
    expect(reply.value.toString()).toBe('kept');
    expect(s.ended).toBe(false);
    s.end();
    const after = await refusalCounters(target);
    expect(after.malformed - before.malformed).toBe(4);
    await allStillWork();
  });

  it('refuses a frame over --max-frame-bytes with BATCH_TOO_LARGE, counts it, and the same stream keeps working', async () => {
    const oversized = async () =>
      Number(
        /^meshcache_replica_oversized_frames_total(?:\{[^}]*\})? (\S+)$/m.exec(
          await (await fetch(`${target.adminUrl}/metrics`, { signal: AbortSignal.timeout(5000) })).text(),
        )?.[1] ?? 'NaN',
      );
    const before = await oversized();
    const s = raw.openStream();
    expect((await s.hello([1], 'e2e-oversized')).code).toBe(ErrorCode.OK);
    s.sendRaw(Buffer.alloc(MAX_FRAME_BYTES + 64 * 1024, 0x00));
    const refused = await s.next();
    expect(refused.error).toBe(ErrorCode.BATCH_TOO_LARGE);
    expect(refused.errorMessage).toContain('maxFrameBytes');
    expect(await oversized()).toBe(before + 1);
    // The same stream answers the next request.
    await client.set('oversized:k', 'kept', { consistency: 'ALL' });
    const { reply } = await s.request({ type: ReplicaOpType.READ, key: k('oversized:k') });
    expect(reply.value.toString()).toBe('kept');
    expect(s.ended).toBe(false);
    s.end();
    await allStillWork();
  });

  it('fails a stream whose message is past what gRPC takes at all; the node stays up and others carry on', async () => {
    const s = raw.openStream();
    expect((await s.hello([1], 'e2e-huge')).code).toBe(ErrorCode.OK);
    s.sendRaw(Buffer.alloc(2 * MAX_FRAME_BYTES + 64 * 1024, 0x00));
    const err = await s.waitEnded();
    expect(err?.code).toBe(8); // RESOURCE_EXHAUSTED
    // The node is up, a new replica stream works, and the other stream never noticed.
    expect(target.exitCode).toBeUndefined();
    const again = await raw.connect('e2e-after-huge');
    const { reply } = await again.request({ type: ReplicaOpType.READ, key: k('garbage:k') });
    expect(reply.value.toString()).toBe('kept');
    again.end();
    await allStillWork();
    // Clients of the target node itself still work too.
    const direct = createClient({ url: target.grpcAddress, serializer: stringSerializer });
    try {
      expect(await direct.set('oversized:after', 'fine')).toBe(true);
      expect(await direct.get('oversized:after')).toBe('fine');
    } finally {
      await direct.close();
    }
  });

  it('refuses a version an hour ahead with CLOCK_SKEW: nothing written, the clock not dragged', async () => {
    const before = await refusalCounters(target);
    await client.set('skew:k', 'old', { consistency: 'ALL' });
    const s = await raw.connect('e2e-skew');
    const future = hlcAt(Date.now() + HOUR_MS);
    // The frame's own clock reading is an hour ahead as well: it must not be merged.
    const { reply } = await s.request(
      { type: ReplicaOpType.APPLY, key: k('skew:k'), value: k('from-the-future'), hlc: future, node: 4242 },
      { hlc: future },
    );
    expect(reply.code).toBe(ErrorCode.CLOCK_SKEW);
    expect(reply.message).toMatch(/ahead of this node's clock; the limit is \d+ \(maxClockSkewMs\)/);
    // The replica still holds the old version...
    const held = await s.request({ type: ReplicaOpType.READ, key: k('skew:k') });
    expect(held.reply.value.toString()).toBe('old');
    expect(held.reply.hlc).toBeLessThan(future);
    // ... and its clock did not jump: replies carry a clock within a minute of now.
    expect(held.frame.hlc).toBeLessThan(hlcAt(Date.now() + 60_000));
    s.end();
    expect(await client.get('skew:k', { consistency: 'QUORUM' })).toBe('old');
    expect(await clientElsewhere.get('skew:k', { consistency: 'ALL' })).toBe('old');
    // Writes coordinated by the target still go through (a dragged clock would make its peers refuse them).
    const direct = createClient({ url: target.grpcAddress, serializer: stringSerializer });
    try {
      expect(await direct.set('skew:k', 'new', { consistency: 'ALL' })).toBe(true);
    } finally {
      await direct.close();
    }
    expect(await client.get('skew:k', { consistency: 'QUORUM' })).toBe('new');
    const after = await refusalCounters(target);
    expect(after.clockSkew - before.clockSkew).toBe(1);
    await allStillWork();
  });

  it('refuses a request at epoch 0 or an old epoch with STALE_EPOCH, naming the replica epoch', async () => {
    const before = await refusalCounters(target);
    const view = await cluster.view(target);
    await client.set('stale:k', 'old', { consistency: 'ALL' });
    const s = await raw.connect('e2e-stale');
    expect(s.epoch).toBe(view.epoch);
    // Epoch 1 is the bootstrap view (one member): every slot's replicas changed since.
    for (const epoch of [0, 1]) {
      const now = hlcAt(Date.now());
      const { reply, frame } = await s.request(
        { type: ReplicaOpType.APPLY, key: k('stale:k'), value: k(`stale-${epoch}`), hlc: now, node: 4242 },
        { epoch },
      );
      expect(reply.code).toBe(ErrorCode.STALE_EPOCH);
      expect(reply.message).toContain(`after epoch ${epoch}; this node holds epoch ${view.epoch}`);
      expect(frame.epoch).toBe(view.epoch);
    }
    // A READ at a stale epoch is refused too.
    const read = await s.request({ type: ReplicaOpType.READ, key: k('stale:k') }, { epoch: 1 });
    expect(read.reply.code).toBe(ErrorCode.STALE_EPOCH);
    expect(read.frame.epoch).toBe(view.epoch);
    // Nothing was written.
    const held = await s.request({ type: ReplicaOpType.READ, key: k('stale:k') });
    expect(held.reply.code).toBe(ErrorCode.OK);
    expect(held.reply.value.toString()).toBe('old');
    expect(await client.get('stale:k', { consistency: 'QUORUM' })).toBe('old');
    // At the current epoch the same APPLY is taken.
    const current = await s.request({
      type: ReplicaOpType.APPLY,
      key: k('stale:fresh'),
      value: k('current'),
      hlc: hlcAt(Date.now()),
      node: 4242,
    });
    expect(current.reply.code).toBe(ErrorCode.OK);
    expect(
      (await s.request({ type: ReplicaOpType.READ, key: k('stale:fresh') })).reply.value.toString(),
    ).toBe('current');
    s.end();
    const after = await refusalCounters(target);
    expect(after.staleEpoch - before.staleEpoch).toBe(3);
    await allStillWork();
  });

  it('refuses a hello with an unsupported protocol version, or a first frame without one', async () => {
    const before = await refusalCounters(target);
    const s = raw.openStream();
    const hello = await s.hello([99, 100], 'e2e-future-peer');
    expect(hello.code).toBe(ErrorCode.UNSUPPORTED_PROTOCOL);
    expect(hello.message).toMatch(/\[99, 100\].*this node speaks \[1\]/);
    expect(hello.protocolVersion).toBe(0);
    // The node closes the stream after refusing.
    await s.waitEnded();
    const none = raw.openStream();
    none.send({ epoch: 1, requests: [] });
    const refused = await none.next();
    expect(refused.hello?.code).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(refused.hello?.message).toMatch(/must carry a hello/);
    await none.waitEnded();
    const after = await refusalCounters(target);
    expect(after.refusedHellos - before.refusedHellos).toBe(2);
    await allStillWork();
  });

  it('never failed the normal client during the bad input', async () => {
    await bystander.progresses(20);
    expect(bystander.ok).toBeGreaterThan(20);
    expect(bystander.failures).toEqual([]);
  });

  it('a write at ALL with a replica killed gets UNAVAILABLE naming 2 of 3', async () => {
    await bystander.stop();
    const victim = cluster.nodes[2]!;
    await clientElsewhere.close();
    await victim.stop('SIGKILL');
    const survivors = [cluster.nodes[0]!, cluster.nodes[1]!];
    await waitFor(
      async () =>
        (await Promise.all(survivors.map((n) => cluster.stateOf(n, victim.id)))).every((s) => s === 'dead'),
      { timeoutMs: 30_000, intervalMs: 100, what: `the survivors to see ${victim.id} dead` },
    );
    // Still in the view (not yet removed): three replicas, two live.
    expect((await cluster.view(survivors[0]!)).members).toHaveLength(3);
    for (const key of ['all:a', 'all:b', 'all:c']) {
      const err = await client.set(key, 'v', { consistency: 'ALL' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(MeshcacheError);
      expect((err as MeshcacheError).code).toBe('UNAVAILABLE');
      expect((err as MeshcacheError).message).toContain('2 of 3');
      // A read at ALL is refused the same way.
      const readErr = await client.get(key, { consistency: 'ALL' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((readErr as MeshcacheError).code).toBe('UNAVAILABLE');
      expect((readErr as MeshcacheError).message).toContain('2 of 3');
    }
    // Every other kind of request at ALL: refused before anything is sent, naming 2 of 3.
    const refusals: [string, () => Promise<unknown>][] = [
      ['delete', () => client.delete('all:a', { consistency: 'ALL' })],
      ['incr', () => client.incr('all:n', 1, { consistency: 'ALL' })],
      ['touch', () => client.touch('all:a', 60_000, { consistency: 'ALL' })],
      ['set ifAbsent', () => client.set('all:nx', 'v', { consistency: 'ALL', condition: 'ifAbsent' })],
      ['getMany', () => client.getMany(['all:a', 'all:b', 'all:c'], { consistency: 'ALL' })],
      [
        'setMany',
        () =>
          client.setMany(
            [
              { key: 'all:a', value: '1' },
              { key: 'all:b', value: '2' },
            ],
            { consistency: 'ALL' },
          ),
      ],
    ];
    const outcomes = await Promise.all(
      refusals.map(async ([name, call]) => {
        try {
          return { name, ok: await call() };
        } catch (e) {
          const err = e as MeshcacheError;
          return { name, code: err.code, twoOfThree: err.message.includes('2 of 3'), message: err.message };
        }
      }),
    );
    for (const o of outcomes) {
      expect({ name: o.name, code: o.code, twoOfThree: o.twoOfThree }).toEqual({
        name: o.name,
        code: 'UNAVAILABLE',
        twoOfThree: true,
      });
    }
    // QUORUM still works with two of three.
    expect(await client.set('all:a', 'quorum', { consistency: 'QUORUM' })).toBe(true);
    expect(await client.get('all:a', { consistency: 'QUORUM' })).toBe('quorum');
    expect(survivors.every((n) => n.exitCode === undefined)).toBe(true);
  });
});

describe('a replication factor above the member count', () => {
  let cluster: Cluster;
  let clients: MeshcacheClient[] = [];

  beforeAll(async () => {
    cluster = await Cluster.start(2, { args: ['--caches', '[{name: default, replicationFactor: 3}]'] });
    await cluster.waitForAgreement(cluster.nodes, (v) => v.members.length === 2);
    clients = cluster.nodes.map((n) => createClient({ url: n.grpcAddress, serializer: stringSerializer }));
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await cluster?.stopAll();
  });

  it('is capped at 2 and reported in /v1/info and the log; writes at ALL make 2 copies', async () => {
    for (const node of cluster.nodes) {
      const info = await waitFor(
        async () => {
          const c = await cacheInfo(node);
          return c.effectiveReplicationFactor === 2 ? c : undefined;
        },
        { timeoutMs: 15_000, what: `${node.id} to report an effective replication factor of 2` },
      );
      expect(info.replicationFactor).toBe(3);
      expect(info.replicationFactorCapped).toBe(true);
    }
    const n = 200;
    const keys = Array.from({ length: n }, (_, i) => `capped:${i}`);
    await waitFor(
      async () => {
        try {
          return await clients[0]!.set('capped:warm', 'up', { consistency: 'ALL', timeoutMs: 2000 });
        } catch {
          return false;
        }
      },
      { timeoutMs: 30_000, intervalMs: 200, what: 'a first write at ALL to succeed' },
    );
    for (const [i, key] of keys.entries()) {
      expect(await clients[i % 2]!.set(key, `v${i}`, { consistency: 'ALL' })).toBe(true);
    }
    // Two copies: each node holds every key (its own copy, not forwarded).
    for (const node of cluster.nodes) expect((await cacheInfo(node)).keys).toBe(n + 1);
    expect(await clients[1]!.getMany(keys, { consistency: 'ALL' })).toEqual(keys.map((_, i) => `v${i}`));
    expect(await clients[0]!.getMany(keys, { consistency: 'ONE' })).toEqual(keys.map((_, i) => `v${i}`));
    for (const node of cluster.nodes) {
      const capped = node.logs
        .map((l) => {
          try {
            return JSON.parse(l) as {
              msg?: string;
              effective?: number;
              replicationFactor?: number;
              cache?: string;
            };
          } catch {
            return {};
          }
        })
        .filter((e) => e.msg?.includes('replication factor capped'));
      expect(
        capped.some((e) => e.effective === 2 && e.replicationFactor === 3 && e.cache === 'default'),
      ).toBe(true);
      expect(node.exitCode).toBeUndefined();
    }
  });
});

/** What a replica holds for each key, read through its Replica port (a READ repairs nothing). */
async function heldBy(node: NodeProcess, keys: string[]): Promise<(number | null)[]> {
  const raw = new RawReplicaClient(replicaAddressOf(node));
  try {
    const s = await raw.connect('e2e-held');
    const out: (number | null)[] = [];
    for (const key of keys) {
      const { reply } = await s.request({ type: ReplicaOpType.READ, key: k(key) });
      out.push(reply.code === ErrorCode.OK && reply.hlc > 0 && !reply.tombstone ? reply.value.length : null);
    }
    s.end();
    return out;
  } finally {
    raw.close();
  }
}

/**
 * Replica frames a node builds itself from legitimate writes: each value is
 * well under every limit, but one tick's batch of them is bigger than
 * --max-frame-bytes. The node must split such a batch, never break its own
 * replica streams with it (which would fail unrelated writes).
 */
describe('replica batches bigger than --max-frame-bytes, built from writes under every limit', () => {
  const VALUE_BYTES = 200 * 1024;
  const COUNT = 8; // 1.6 MiB together, over the 1 MiB frame limit
  let cluster: Cluster;
  let redis: Redis;
  let redisOther: Redis;

  const largeValue = (i: number) => Buffer.alloc(VALUE_BYTES, 0x41 + i);

  /** Small writes coordinated by node 0 (through its Redis port) for `ms`: the failures. */
  async function smallWritesFor(ms: number): Promise<string[]> {
    const failures: string[] = [];
    const until = Date.now() + ms;
    for (let i = 0; Date.now() < until; i++) {
      const reply = await redisOther.set(`small:${i % 20}`, `v${i}`).catch((e: Error) => e.message);
      if (reply !== 'OK') failures.push(String(reply));
      await new Promise((r) => setTimeout(r, 20));
    }
    return failures;
  }

  beforeAll(async () => {
    cluster = await Cluster.start(3, { args: FRAME_ARGS });
    await cluster.waitForAgreement(cluster.nodes, (v) => v.members.length === 3);
    redis = new Redis({ port: cluster.nodes[0]!.redisPort, host: '127.0.0.1', maxRetriesPerRequest: 1 });
    redisOther = new Redis({ port: cluster.nodes[0]!.redisPort, host: '127.0.0.1', maxRetriesPerRequest: 1 });
    const client = createClient({ url: cluster.nodes[0]!.grpcAddress, serializer: stringSerializer });
    try {
      await waitFor(
        async () => {
          try {
            return await client.set('warm', 'up', { consistency: 'ALL', timeoutMs: 2000 });
          } catch {
            return false;
          }
        },
        { timeoutMs: 30_000, intervalMs: 200, what: 'a write at ALL to succeed (replica streams up)' },
      );
    } finally {
      await client.close();
    }
  });

  afterAll(async () => {
    redis?.disconnect();
    redisOther?.disconnect();
    await cluster?.stopAll();
  });

  it('an MSET of values under the limit, over it together, replicates and fails no other write', async () => {
    const keys = Array.from({ length: COUNT }, (_, i) => `mset-large:${i}`);
    const reply = await redis
      .mset(...keys.flatMap((key, i) => [key, largeValue(i)]))
      .catch((e: Error) => e.message);
    const failures = await smallWritesFor(3000);
    // Every replica holds every value (read without repair).
    const held = await Promise.all(cluster.nodes.map((n) => heldBy(n, keys)));
    expect({ reply, failures: failures.slice(0, 5), failed: failures.length, held }).toEqual({
      reply: 'OK',
      failures: [],
      failed: 0,
      held: cluster.nodes.map(() => keys.map(() => VALUE_BYTES)),
    });
  });
});

describe('hint replay of values under the limit, over it together', () => {
  const VALUE_BYTES = 200 * 1024;
  const COUNT = 8;
  let cluster: Cluster;
  let redis: Redis;

  beforeAll(async () => {
    cluster = await Cluster.start(3, { args: FRAME_ARGS });
    await cluster.waitForAgreement(cluster.nodes, (v) => v.members.length === 3);
    redis = new Redis({ port: cluster.nodes[0]!.redisPort, host: '127.0.0.1', maxRetriesPerRequest: 1 });
  });

  afterAll(async () => {
    redis?.disconnect();
    const paused = cluster?.nodes[2];
    if (paused?.exitCode === undefined) paused?.child.kill('SIGCONT');
    await cluster?.stopAll();
  });

  it('delivers every hint to a replica that was paused, and writes keep succeeding meanwhile', async () => {
    const [n0, , paused] = cluster.nodes as [NodeProcess, NodeProcess, NodeProcess];
    const keys = Array.from({ length: COUNT }, (_, i) => `hinted-large:${i}`);
    await waitFor(async () => (await redis.set('warm', 'up')) === 'OK', { what: 'a first write' });
    paused.child.kill('SIGSTOP');
    try {
      await waitFor(async () => (await cluster.stateOf(n0, paused.id)) === 'dead', {
        timeoutMs: 20_000,
        intervalMs: 100,
        what: `${n0.id} to see ${paused.id} dead`,
      });
      // Writes at QUORUM through node 0 while the third replica is away: hinted for it.
      for (const [i, key] of keys.entries()) {
        expect(await redis.set(key, Buffer.alloc(VALUE_BYTES, 0x61 + i))).toBe('OK');
      }
      const pending = (await getJson<{ replication: { hintsPending: number } }>(`${n0.adminUrl}/v1/info`))
        .replication.hintsPending;
      expect(pending).toBeGreaterThanOrEqual(COUNT);
    } finally {
      paused.child.kill('SIGCONT');
    }
    await waitFor(async () => (await cluster.stateOf(n0, paused.id)) === 'alive', {
      timeoutMs: 20_000,
      intervalMs: 100,
      what: `${n0.id} to see ${paused.id} alive again`,
    });
    // The hints drain within seconds (1.6 MiB in all), and writes through node 0 keep succeeding.
    // (hintsPending leaves out hints in flight: drained means every queued hint was replayed.)
    type Hints = { replication: { hintsPending: number; hints: { queued: number; replayed: number } } };
    const failures: string[] = [];
    let info = await getJson<Hints>(`${n0.adminUrl}/v1/info`);
    const deadline = Date.now() + 15_000;
    for (let i = 0; Date.now() < deadline; i++) {
      const reply = await redis.set(`during-replay:${i % 20}`, `v${i}`).catch((e: Error) => e.message);
      if (reply !== 'OK') failures.push(String(reply));
      info = await getJson<Hints>(`${n0.adminUrl}/v1/info`);
      const h = info.replication;
      if (h.hintsPending === 0 && h.hints.replayed >= h.hints.queued) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const held = await heldBy(paused, keys);
    expect({
      hints: info.replication,
      failures: failures.slice(0, 5),
      failed: failures.length,
      held,
    }).toEqual({
      hints: expect.objectContaining({
        hintsPending: 0,
        hints: expect.objectContaining({ replayed: info.replication.hints.queued }),
      }),
      failures: [],
      failed: 0,
      held: keys.map(() => VALUE_BYTES),
    });
  });
});
