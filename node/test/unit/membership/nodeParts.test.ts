// The node-side parts of membership: seeds, the real UDP/TCP transport, the topology it feeds.
import { describe, expect, it } from '@jest/globals';
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { MemberState } from '@meshcache/proto';
import { ClusterTopology } from '../../../src/cluster/ClusterTopology.js';
import { evenSlotRanges, rangesOfPayload } from '../../../src/cluster/evenSlotRanges.js';
import { CacheRegistry } from '../../../src/engine/CacheRegistry.js';
import type { MemberRecord } from '../../../src/membership/FailureDetector.js';
import { DnsSeeds } from '../../../src/membership/DnsSeeds.js';
import { GossipTransport } from '../../../src/membership/GossipTransport.js';
import type { GossipMessage, StreamMessage, View } from '../../../src/membership/messages.js';
import { DEFAULT_CACHE_OPTIONS } from '../../../src/config/NodeOptions.js';
import { HybridLogicalClock } from '../../../src/store/index.js';

function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = () =>
      cond() ? resolve() : Date.now() > end ? reject(new Error('timed out')) : setTimeout(tick, 5);
    tick();
  });
}

describe('DnsSeeds', () => {
  it('parses host:port, bare names with the default port, and IPv6 literals', () => {
    expect(DnsSeeds.parse('10.0.0.1:7000', 7946)).toEqual({ host: '10.0.0.1', port: 7000 });
    expect(DnsSeeds.parse('meshcache-headless.ns.svc', 7946)).toEqual({
      host: 'meshcache-headless.ns.svc',
      port: 7946,
    });
    expect(DnsSeeds.parse('[::1]:7001', 7946)).toEqual({ host: '::1', port: 7001 });
    expect(DnsSeeds.parse('::1', 7946)).toEqual({ host: '::1', port: 7946 });
  });

  it('resolves every name on every call, passes IPs through and skips names that fail', async () => {
    let calls = 0;
    const lookup = async (host: string) => {
      calls++;
      if (host === 'gone') throw new Error('ENOTFOUND');
      return calls === 1 ? ['10.0.0.2', '10.0.0.3'] : ['10.0.0.4'];
    };
    const failed: string[] = [];
    const seeds = new DnsSeeds(['svc', '10.0.0.1:7000', 'gone'], 7946, lookup, (s) => failed.push(s));
    const first = await new Promise<string[]>((r) => seeds.resolve(r));
    expect(first).toEqual(['10.0.0.2:7946', '10.0.0.3:7946', '10.0.0.1:7000']);
    const second = await new Promise<string[]>((r) => seeds.resolve(r));
    expect(second).toEqual(['10.0.0.4:7946', '10.0.0.1:7000']);
    expect(failed).toEqual(['gone', 'gone']);
  });
});

describe('GossipTransport (loopback)', () => {
  async function pair() {
    const got: {
      a: (GossipMessage[] | StreamMessage)[];
      b: (GossipMessage[] | StreamMessage)[];
      bad: string[];
    } = {
      a: [],
      b: [],
      bad: [],
    };
    const options = { bindHost: '127.0.0.1', port: 0, maxPacketBytes: 1400, maxStreamBytes: 1 << 20 };
    const a = new GossipTransport(options, {
      packet: (m) => got.a.push(m),
      stream: (m) => got.a.push(m),
      malformed: (r) => got.bad.push(r),
    });
    const b = new GossipTransport(options, {
      packet: (m) => got.b.push(m),
      stream: (m) => got.b.push(m),
      malformed: (r) => got.bad.push(r),
    });
    await a.bind();
    await b.bind();
    return { a, b, got };
  }

  it('carries packets over UDP and stream messages over TCP on one port number', async () => {
    const { a, b, got } = await pair();
    try {
      a.sendPacket(`127.0.0.1:${b.port}`, [{ t: 'ack', seq: 7, from: 'a' }]);
      const view: View = {
        cluster: 'a@1',
        epoch: 1,
        members: [{ id: 'a', inst: 1, addr: `127.0.0.1:${a.port}`, zone: '', meta: {} }],
        decider: 'a',
        removed: [],
        payload: { big: 'x'.repeat(100_000) },
      };
      a.sendStream(`127.0.0.1:${b.port}`, { t: 'commit', view });
      await until(() => got.b.length === 2);
      expect(got.b).toContainEqual([{ t: 'ack', seq: 7, from: 'a' }]);
      expect(got.b).toContainEqual({ t: 'commit', view });
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('reports malformed packets and streams instead of delivering them', async () => {
    const { a, b, got } = await pair();
    try {
      const udp = createSocket('udp4');
      await new Promise<void>((r) => udp.send('garbage', b.port, '127.0.0.1', () => r()));
      udp.close();
      const net = await import('node:net');
      const s = net.connect(b.port, '127.0.0.1', () => s.end(Buffer.from([0, 0, 0, 2, 123])));
      s.on('error', () => undefined);
      await until(() => got.bad.length === 2);
      expect(got.b).toEqual([]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('drops packets to blocked peers and at the configured rate (test fault hook), and oversize packets', async () => {
    const { a, b, got } = await pair();
    try {
      a.faults.blocked = [`127.0.0.1:${b.port}`];
      a.sendPacket(`127.0.0.1:${b.port}`, [{ t: 'ack', seq: 1, from: 'a' }]);
      a.sendStream(`127.0.0.1:${b.port}`, { t: 'viewreq', src: `127.0.0.1:${a.port}` });
      a.faults.blocked = [];
      a.faults.dropRate = 1;
      a.sendPacket(`127.0.0.1:${b.port}`, [{ t: 'ack', seq: 2, from: 'a' }]);
      a.faults.dropRate = 0;
      a.sendPacket(`127.0.0.1:${b.port}`, [{ t: 'ack', seq: 3, from: 'x'.repeat(1500) }]);
      expect(a.oversize).toBe(1);
      a.sendPacket(`127.0.0.1:${b.port}`, [{ t: 'ack', seq: 4, from: 'a' }]);
      await until(() => got.b.length === 1);
      expect(got.b).toEqual([[{ t: 'ack', seq: 4, from: 'a' }]]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('on a fixed port whose UDP twin is taken, fails naming the port and lets go of the TCP listener', async () => {
    // A port below the ephemeral range, so no outgoing connection takes its TCP twin meanwhile.
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    const listen = (port: number) => {
      const tcp = createServer();
      return new Promise<Server>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(port, '127.0.0.1', () => resolve(tcp));
      });
    };
    let udp: Socket | undefined;
    let port = 0;
    while (!udp) {
      port = 10_000 + Math.floor(Math.random() * (low - 10_000));
      const s = createSocket('udp4');
      const bound = await new Promise<boolean>((r) => {
        s.once('error', () => r(false));
        s.bind(port, '127.0.0.1', () => r(true));
      });
      const probe = bound ? await listen(port).catch(() => undefined) : undefined;
      if (probe) {
        await new Promise<void>((r) => probe.close(() => r()));
        udp = s;
      } else {
        s.close();
      }
    }
    try {
      const events = { packet: () => undefined, stream: () => undefined, malformed: () => undefined };
      const t = new GossipTransport(
        { bindHost: '127.0.0.1', port, maxPacketBytes: 1400, maxStreamBytes: 1 << 20 },
        events,
      );
      await expect(t.bind()).rejects.toMatchObject({ code: 'EADDRINUSE', port });
      const tcp = await listen(port);
      await new Promise<void>((r) => tcp.close(() => r()));
    } finally {
      udp.close();
    }
  });
});

describe('ClusterTopology', () => {
  const caches = new CacheRegistry(
    [{ name: 'default', ...DEFAULT_CACHE_OPTIONS }],
    1024,
    new HybridLogicalClock(1),
  );
  const self = {
    id: 'a',
    zone: 'z1',
    grpcAddress: 'a:1',
    redisAddress: 'a:2',
    adminAddress: 'a:3',
    meshAddress: '',
  };
  const info = (id: string, inst = 1) => ({
    id,
    inst,
    addr: `${id}:7946`,
    zone: 'z',
    meta: { grpc: `${id}:7070`, redis: `${id}:6379`, admin: `${id}:8080` },
  });
  const record = (id: string, state: MemberRecord['state'], inst = 1, grpc = `${id}:7070`): MemberRecord => ({
    ...info(id, inst),
    meta: { grpc, redis: `${id}:6379`, admin: `${id}:8080` },
    inc: 1,
    state,
    since: 0,
  });

  it('shows the node alone at epoch 0 until it joins a view', () => {
    const t = new ClusterTopology(self, caches);
    expect(t.epoch).toBe(0);
    expect(t.snapshot().members).toEqual([{ ...self, state: MemberState.ALIVE }]);
    expect(t.snapshot().ranges).toEqual([]);
  });

  it('serves the view members with their liveness, latest addresses and the committed ranges', () => {
    const t = new ClusterTopology(self, caches);
    const changes: number[] = [];
    t.on('change', (x) => changes.push(x.epoch));
    const view: View = {
      cluster: 'a@1',
      epoch: 4,
      members: [info('a'), info('b')],
      decider: 'a',
      removed: [],
      payload: { ranges: evenSlotRanges(['a', 'b']) },
    };
    const live = new Map([
      ['a', record('a', 'alive')],
      ['b', record('b', 'dead')],
    ]);
    t.apply(view, (id) => live.get(id));
    expect(t.epoch).toBe(4);
    expect(t.snapshot().members.map((m) => [m.id, m.state, m.grpcAddress])).toEqual([
      ['a', MemberState.ALIVE, 'a:7070'],
      ['b', MemberState.DEAD, 'b:7070'],
    ]);
    expect(t.snapshot().ranges).toEqual([
      { start: 0, end: 8191, replicas: ['a'] },
      { start: 8192, end: 16383, replicas: ['b'] },
    ]);
    // A restarted b (new process, new port) is shown ALIVE at its new address; same inputs change nothing.
    live.set('b', record('b', 'alive', 2, 'b:9999'));
    t.apply(view, (id) => live.get(id));
    t.apply(view, (id) => live.get(id));
    expect(t.snapshot().members[1]).toMatchObject({ state: MemberState.ALIVE, grpcAddress: 'b:9999' });
    expect(changes).toEqual([4, 4]);
  });

  it('splits the slots evenly and contiguously, and reads ranges only from well-formed payloads', () => {
    for (const n of [1, 3, 7, 100]) {
      const r = evenSlotRanges(Array.from({ length: n }, (_, i) => `m${i}`));
      expect(r).toHaveLength(n);
      expect(r[0]!.start).toBe(0);
      expect(r.at(-1)!.end).toBe(16383);
      for (let i = 1; i < n; i++) expect(r[i]!.start).toBe(r[i - 1]!.end + 1);
      const sizes = r.map((x) => x.end - x.start + 1);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
    expect(rangesOfPayload(null)).toEqual([]);
    expect(rangesOfPayload({ ranges: [{ start: 'x' }] })).toEqual([]);
  });
});
