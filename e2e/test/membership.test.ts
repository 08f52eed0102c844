// End-to-end: cluster membership with real meshcache-node processes on loopback.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MemberState, type Topology } from '@meshcache/proto';
import { Cluster, FAST_REMOVAL_ARGS, getJson, postJson, type ViewReply } from '../src/Cluster.js';
import { ClusterNetwork } from '../src/ClusterNetwork.js';
import { NodeProcess } from '../src/NodeProcess.js';
import { RawCacheClient } from '../src/RawCacheClient.js';
import { waitFor } from '../src/waitFor.js';

const ids = (v: { members: { id: string }[] }) => v.members.map((m) => m.id).sort();

/** pino's `time` of the first log line of `node` matching `match`. */
function logTime(node: NodeProcess, match: (entry: Record<string, unknown>) => boolean): number | undefined {
  for (const line of node.logs) {
    try {
      const e = JSON.parse(line) as Record<string, unknown>;
      if (match(e)) return new Date(e['time'] as string | number).getTime();
    } catch {
      // not JSON
    }
  }
  return undefined;
}

/**
 * How long a DEAD member stays in the view. The restart test needs the killed
 * node's successor started and heard from within it, and a node's start takes
 * seconds on a busy machine (over 4 s, seen under load on 2 cores).
 */
const REMOVE_AFTER_MS = 12_000;

describe('cluster membership (5 real nodes, one seed)', () => {
  let c: Cluster;

  beforeAll(async () => {
    c = await Cluster.start(5, {
      args: [...FAST_REMOVAL_ARGS, '--remove-after-ms', String(REMOVE_AFTER_MS)],
    });
  }, 60_000);

  afterAll(async () => {
    await c?.stopAll();
  });

  it('forms one cluster: every node reports the same view, is ready, and serves it as its topology', async () => {
    const v = await c.waitForAgreement(c.nodes, (x) => x.members.length === 5);
    expect(ids(v)).toEqual(c.nodes.map((n) => n.id).sort());
    expect(v.members.map((m) => m.id)[0]).toBe(c.seed.id); // the oldest member decides
    for (const n of c.nodes) {
      expect((await fetch(`${n.adminUrl}/readyz`)).status).toBe(200);
      const topology = await getJson<{
        epoch: number;
        members: { id: string; state: number }[];
        ranges: { start: number; end: number; replicas: string[] }[];
      }>(`${n.adminUrl}/v1/cluster/topology`);
      expect(topology.epoch).toBe(v.epoch);
      expect(topology.members.map((m) => m.id)).toEqual(v.members.map((m) => m.id));
      // The decider's payload (the placement) is committed with the view: every slot placed, on the members.
      expect(topology.ranges[0]!.start).toBe(0);
      expect(topology.ranges.at(-1)!.end).toBe(16383);
      expect(new Set(topology.ranges.flatMap((r) => r.replicas))).toEqual(
        new Set(v.members.map((m) => m.id)),
      );
      const metrics = await (await fetch(`${n.adminUrl}/metrics`)).text();
      expect(metrics).toMatch(new RegExp(`meshcache_membership_view_epoch\\{node="${n.id}"\\} ${v.epoch}`));
      await waitFor(
        async () =>
          /meshcache_membership_probes_total\{node="[^"]+"\} [1-9]/.test(
            await (await fetch(`${n.adminUrl}/metrics`)).text(),
          ),
        { what: `${n.id} to probe` },
      );
    }
  }, 60_000);

  it('kill -9: every other node marks the victim DEAD, it stays a member, and is removed after removeAfterMs', async () => {
    const before = await c.waitForAgreement(c.nodes, (x) => x.members.length === 5);
    const victim = c.nodes[3]!;
    const others = c.nodes.filter((n) => n !== victim);
    // A client watching the topology sees liveness and the new view pushed.
    const client = new RawCacheClient(c.seed.grpcAddress);
    const pushed: Topology[] = [];
    const watch = client.watchTopology(0);
    watch.on('data', (t: Topology) => pushed.push(t));
    watch.on('error', () => undefined);
    await waitFor(() => pushed.length > 0, { what: 'the first topology' });
    await victim.stop('SIGKILL');
    await waitFor(
      async () => (await Promise.all(others.map((o) => c.stateOf(o, victim.id)))).every((s) => s === 'dead'),
      { timeoutMs: 20_000, intervalMs: 50, what: `every node to mark ${victim.id} DEAD` },
    );
    // DEAD is liveness, not membership: the view still holds it.
    const views = await Promise.all(others.map((o) => c.view(o)));
    for (const v of views) expect(ids(v)).toContain(victim.id);
    const after = await c.waitForAgreement(
      others,
      (x) => !ids(x).includes(victim.id),
      REMOVE_AFTER_MS + 20_000,
    );
    expect(after.epoch).toBeGreaterThan(before.epoch);
    expect(after.removed).toEqual([{ id: victim.id, reason: 'dead' }]);
    // The decider removed it no earlier than removeAfterMs after it marked it DEAD.
    const decider = others.find((o) => o.id === after.decider)!;
    const deadAt = logTime(
      decider,
      (e) => e['msg'] === 'member state' && e['member'] === victim.id && e['state'] === 'dead',
    )!;
    const committedAt = logTime(decider, (e) => e['msg'] === 'view committed' && e['epoch'] === after.epoch)!;
    expect(committedAt - deadAt).toBeGreaterThanOrEqual(REMOVE_AFTER_MS);
    await waitFor(() => pushed.some((t) => t.epoch === after.epoch), { what: 'the new view pushed' });
    watch.cancel();
    const deadPush = pushed.find(
      (t) => t.members.find((m) => m.id === victim.id)?.state === MemberState.DEAD,
    );
    expect(deadPush?.epoch).toBe(before.epoch);
    expect(pushed.at(-1)!.members.map((m) => m.id)).not.toContain(victim.id);
    // Every reply carries the epoch the node holds.
    expect((await client.ping()).epoch).toBe(after.epoch);
    client.close();
  }, 90_000);

  it('brings a node restarted with the same id back ALIVE with a higher incarnation, in its old place', async () => {
    const before = await c.waitForAgreement(c.running());
    const node = c.nodes[1]!;
    const seen = (await c.members(c.seed)).members.find((m) => m.id === node.id)!;
    await node.stop('SIGKILL');
    await waitFor(async () => (await c.stateOf(c.seed, node.id)) === 'dead', {
      timeoutMs: 20_000,
      what: 'DEAD',
    });
    const again = await c.add(1);
    const v = await c.waitForAgreement(
      c.running(),
      (x) => x.members.find((m) => m.id === again.id)?.instance !== seen.instance,
    );
    expect(v.members.map((m) => m.id)).toEqual(before.members.map((m) => m.id));
    const now = (await c.members(c.seed)).members.find((m) => m.id === node.id)!;
    expect(now.state).toBe('alive');
    expect(now.incarnation).toBeGreaterThan(seen.incarnation);
  }, 60_000);

  it('removes a member on an admin request; it stays out until asked to join', async () => {
    await c.waitForAgreement(c.running());
    const target = c.nodes[4]!;
    const res = await postJson(`${c.nodes[2]!.adminUrl}/v1/cluster/remove`, { id: target.id });
    expect(res.status).toBe(202);
    expect((await postJson(`${c.nodes[2]!.adminUrl}/v1/cluster/remove`, { id: 'nobody' })).status).toBe(404);
    const others = c.running().filter((n) => n !== target);
    const v = await c.waitForAgreement(others, (x) => !ids(x).includes(target.id));
    expect(v.removed).toEqual([{ id: target.id, reason: 'admin' }]);
    await waitFor(async () => (await fetch(`${target.adminUrl}/readyz`)).status === 503, {
      what: 'not ready',
    });
    expect((await postJson(`${target.adminUrl}/v1/cluster/join`, {})).status).toBe(202);
    await c.waitForAgreement(c.running(), (x) => ids(x).includes(target.id));
    // Removal dropped its data: it is ready once it has filled the slots it holds again.
    await waitFor(
      async () => ((await fetch(`${target.adminUrl}/readyz`)).status === 200 ? true : undefined),
      {
        timeoutMs: 30_000,
        what: `${target.id} to fill its slots and turn ready`,
      },
    );
  }, 60_000);

  it('SIGTERM means restart, not leave: the member stays in the view and its successor takes its place', async () => {
    await c.waitForAgreement(c.running());
    const restarting = c.nodes[2]!;
    const others = c.running().filter((n) => n !== restarting);
    const instanceOf = (x: ViewReply) => x.members.find((m) => m.id === restarting.id)?.instance;
    const oldInstance = instanceOf(await c.view(others[0]!));
    expect(oldInstance).toBeDefined();
    expect(await restarting.stop('SIGTERM')).toBe(0);
    // Peers notice the process is gone, but the view keeps the member (its replicas cover it).
    await waitFor(async () => ((await c.stateOf(others[0]!, restarting.id)) !== 'alive' ? true : undefined), {
      what: 'peers to notice the stopped process',
    });
    expect(ids(await c.view(others[0]!))).toContain(restarting.id);
    const successor = await c.add(2);
    const v = await c.waitForAgreement(c.running(), (x) => {
      const inst = instanceOf(x);
      return inst !== undefined && inst !== oldInstance;
    });
    expect(ids(v)).toContain(successor.id);
    expect((v.removed ?? []).some((r) => r.id === successor.id)).toBe(false);
  }, 60_000);

  it('drops and counts malformed gossip packets and streams without harm', async () => {
    const node = c.seed;
    const udp = createSocket('udp4');
    for (const junk of ['not json', '[{"t":"ping"}]', '{}', 'x'.repeat(3000)]) {
      await new Promise<void>((r) => udp.send(junk, node.gossipPort, '127.0.0.1', () => r()));
    }
    udp.close();
    await new Promise<void>((resolve) => {
      const s = connect(node.gossipPort, '127.0.0.1', () => s.end(Buffer.from([0, 0, 0, 5, 1, 2])));
      s.on('close', () => resolve());
      s.on('error', () => resolve());
    });
    await waitFor(
      async () => {
        const text = await (await fetch(`${node.adminUrl}/metrics`)).text();
        const m = /meshcache_membership_malformed_messages_total\{node="[^"]+"\} (\d+)/.exec(text);
        return m !== null && Number(m[1]) >= 5;
      },
      { what: 'five malformed messages counted' },
    );
    expect((await fetch(`${node.adminUrl}/readyz`)).status).toBe(200);
    await c.waitForAgreement(c.running());
  }, 60_000);
});

/**
 * Ports free for both UDP and TCP right now (the gossip port needs both),
 * below the ephemeral range: a port inside it could be taken between this
 * check and the node's bind by any outgoing connection's local port.
 */
async function freeGossipPorts(n: number): Promise<number[]> {
  const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  const ports: number[] = [];
  while (ports.length < n) {
    const port = 10_000 + Math.floor(Math.random() * (low - 10_000));
    if (ports.includes(port)) continue;
    const udp = createSocket('udp4');
    const udpOk = await new Promise<boolean>((r) => {
      udp.once('error', () => r(false));
      udp.bind(port, '127.0.0.1', () => r(true));
    });
    const tcp = createServer();
    const ok =
      udpOk &&
      (await new Promise<boolean>((r) => {
        tcp.once('error', () => r(false));
        tcp.listen(port, '127.0.0.1', () => r(true));
      }));
    if (tcp.listening) await new Promise<void>((r) => tcp.close(() => r()));
    udp.close();
    if (ok) ports.push(port);
  }
  return ports;
}

describe('forming a fresh cluster from a shared seed list', () => {
  it('forms exactly one cluster when every node starts at once, bootstrapped by the first seed', async () => {
    const ports = await freeGossipPorts(3);
    const seeds = ports.map((p) => `127.0.0.1:${p}`);
    const c = new Cluster({ prefix: `t${process.pid}` });
    try {
      const nodes = await Promise.all(
        [0, 1, 2, 3, 4].map((i) =>
          NodeProcess.start({
            id: c.idOf(i),
            args: ['--seeds', seeds.join(','), ...(i < 3 ? ['--gossip-port', String(ports[i])] : [])],
          }),
        ),
      );
      c.nodes.push(...nodes);
      const v = await c.waitForAgreement(nodes, (x) => x.members.length === 5);
      expect(ids(v)).toEqual(nodes.map((n) => n.id).sort());
      // One genesis (epoch 1, created alone) in all the logs, by the node at the first seed address.
      const geneses = nodes.filter((n) =>
        n.logs.some((l) => l.includes('"msg":"view committed"') && l.includes('"epoch":1,')),
      );
      expect(geneses.map((n) => n.gossipAddress)).toEqual([[...seeds].sort()[0]]);
      expect(v.cluster).toBe(`${geneses[0]!.id}@${v.cluster!.split('@')[1]}`);
    } finally {
      await c.stopAll();
    }
  }, 60_000);
});

/**
 * Run inside a network namespace: narrows its ephemeral range to [lo, hi] and
 * holds all but `free` of those ports as the local ports of established
 * outgoing TCP connections (to a listener just below the range), then prints
 * the held ports as JSON and stays until its stdin closes.
 */
const HOLD_EPHEMERAL_PORTS = `
const fs = require('node:fs');
const net = require('node:net');
const [lo, hi, free] = JSON.parse(process.argv[1]);
fs.writeFileSync('/proc/sys/net/ipv4/ip_local_port_range', lo + ' ' + hi);
const held = [];
const server = net.createServer((s) => s.on('error', () => undefined));
server.listen(lo - 1, '127.0.0.1', async () => {
  const want = hi - lo + 1 - free;
  while (held.length < want) {
    const batch = Array.from({ length: Math.min(200, want - held.length) }, () =>
      new Promise((resolve, reject) => {
        const c = net.connect(lo - 1, '127.0.0.1', () => resolve(c));
        c.once('error', reject);
      }),
    );
    held.push(...(await Promise.all(batch)));
  }
  console.log(JSON.stringify(held.map((c) => c.localPort)));
});
process.stdin.on('end', () => process.exit(0)).resume();
`;

describe('gossip port (UDP and TCP on one number) on port 0', () => {
  // Namespaces need root; the range and the connections then stay out of every other process's way.
  const netns = ClusterNetwork.available();

  (netns ? it : it.skip)(
    'binds at every (re)start while outgoing TCP connections hold all but a few ports of the ephemeral range',
    async () => {
      const ns = `mcgp${process.pid % 10000}${Math.random().toString(36).slice(2, 6)}`;
      const [lo, hi, free] = [40000, 40999, 5];
      const run = (...args: string[]) => {
        const res = spawnSync('ip', args, { encoding: 'utf8' });
        if (res.status !== 0) throw new Error(`ip ${args.join(' ')}: ${res.stderr}`);
      };
      run('netns', 'add', ns);
      let holder: ChildProcess | undefined;
      let node: NodeProcess | undefined;
      try {
        run('-n', ns, 'link', 'set', 'lo', 'up');
        const h = spawn(
          'ip',
          ['netns', 'exec', ns, process.execPath, '-e', HOLD_EPHEMERAL_PORTS, JSON.stringify([lo, hi, free])],
          { stdio: ['pipe', 'pipe', 'inherit'] },
        );
        holder = h;
        const held = await new Promise<Set<number>>((resolve, reject) => {
          let out = '';
          h.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
            out += chunk;
            if (out.includes('\n')) resolve(new Set(JSON.parse(out) as number[]));
          });
          h.once('exit', (code) => reject(new Error(`port holder exited with ${code}`)));
        });
        expect(held.size).toBe(hi - lo + 1 - free);
        // The node's gRPC, admin and Redis listeners take three of the free ports, leaving two for
        // gossip. A UDP-first pick (any of the 1000 ports) finds a TCP-free twin 2 times in 1000.
        for (let start = 0; start < 4; start++) {
          node = await NodeProcess.start({ id: `gp${process.pid}`, prefix: ['ip', 'netns', 'exec', ns] });
          expect(node.gossipPort).toBeGreaterThanOrEqual(lo);
          expect(node.gossipPort).toBeLessThanOrEqual(hi);
          expect(held.has(node.gossipPort)).toBe(false);
          await node.stop('SIGKILL');
          node = undefined;
        }
      } finally {
        await node?.stop('SIGKILL');
        holder?.kill('SIGKILL');
        spawnSync('ip', ['netns', 'del', ns]);
      }
    },
    60_000,
  );
});
