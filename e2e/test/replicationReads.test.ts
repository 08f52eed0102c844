import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { compareVersions, createClient, type MeshcacheClient, type Version } from '@meshcache/client';
import { Cluster, getJson } from '../src/Cluster.js';
import {
  checkHistory,
  describeOp,
  formatSummary,
  formatViolations,
  History,
  type OpRecord,
  summarizeHistory,
  type Violation,
} from '../src/history/index.js';
import type { NodeProcess } from '../src/NodeProcess.js';
import { readAll, type RecordedCallOptions, RecordingClient } from '../src/replication/Workload.js';
import { waitFor } from '../src/waitFor.js';

jest.setTimeout(240_000);

interface Info {
  replication: {
    hintsPending: number;
    hints: { queued: number; replayed: number; expired: number; dropped: number };
  };
}

const infoOf = (node: NodeProcess) => getJson<Info>(`${node.adminUrl}/v1/info`);
const Q: RecordedCallOptions = { consistency: 'QUORUM', timeoutMs: 3000 };
const pace = () => new Promise((r) => setTimeout(r, 20)); // after an error, so a loop cannot spin

/** One successful read, with the node it went through and the entry's version. */
interface ReadSeen {
  node: number;
  op: OpRecord;
  version: Version | undefined;
}

/**
 * Pure writers and sessions (processes that write and read) over shared
 * keys, at QUORUM, every operation through a node picked at random among those
 * `usable` allows (so a session's read often goes through another node than
 * its last write). Everything is recorded in one History; besides that, each
 * session checks its own guarantees as it goes:
 * - read-your-writes: once it has a write of key k acknowledged, a read of k
 *   returns that value or a later one: never absent (nothing is deleted here),
 *   never its own earlier acknowledged value, never a value whose write was
 *   acknowledged before its own write was invoked;
 * - monotonic reads: a read of k never returns an older version (the entry's
 *   version, as the cluster orders them) than the session's previous read of
 *   k, nor absent after a value.
 */
class SessionWorkload {
  readonly history = new History();
  readonly reads: ReadSeen[] = [];
  readonly problems: string[] = [];
  private stopped = false;
  private readonly running: Promise<void>[];
  private readonly writeOf = new Map<string, OpRecord>();
  private indexed = 0;

  constructor(
    private readonly clients: readonly MeshcacheClient[],
    private readonly keys: readonly string[],
    writers: number,
    sessions: number,
    /** Indexes of the nodes an operation may go through now. */
    private readonly usable: () => readonly number[],
  ) {
    this.running = [
      ...Array.from({ length: writers }, (_, i) => this.writer(`w${i}`)),
      ...Array.from({ length: sessions }, (_, i) => this.session(`s${i}`)),
    ];
  }

  /** Successful session reads invoked at or after `t` (through `node`, if given). */
  readsSince(t: number, node?: number): number {
    let n = 0;
    for (const r of this.reads) if (r.op.invokedAt >= t && (node === undefined || r.node === node)) n++;
    return n;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.running);
  }

  private pick(): number {
    const nodes = this.usable();
    return nodes[Math.floor(Math.random() * nodes.length)]!;
  }

  private pickKey(): string {
    return this.keys[Math.floor(Math.random() * this.keys.length)]!;
  }

  private via(process: string): RecordingClient[] {
    return this.clients.map((c) => new RecordingClient(this.history, process, c));
  }

  /** The write that produced a value (values are unique). */
  private writeOfValue(value: string): OpRecord | undefined {
    const ops = this.history.ops;
    for (; this.indexed < ops.length; this.indexed++) {
      const op = ops[this.indexed]!;
      if (op.kind === 'write') this.writeOf.set(op.value!, op);
    }
    return this.writeOf.get(value);
  }

  /** The process's latest operation of a kind on a key: the one it just completed (a process is sequential). */
  private lastOp(process: string, kind: string, key: string): OpRecord {
    const ops = this.history.ops;
    for (let i = ops.length - 1; i >= 0; i--) {
      const op = ops[i]!;
      if (op.process === process && op.kind === kind && op.key === key) return op;
    }
    throw new Error(`no ${kind} of ${key} by ${process}`);
  }

  private async writer(name: string): Promise<void> {
    const via = this.via(name);
    for (let n = 0; !this.stopped; n++) {
      const r = await via[this.pick()]!.write(this.pickKey(), `${name}-${n}`, Q);
      if (r.outcome !== 'ok') await pace();
    }
  }

  private async session(name: string): Promise<void> {
    const via = this.via(name);
    const lastAcked = new Map<string, { seq: number; op: OpRecord }>();
    const lastRead = new Map<string, { value: string | null; version: Version | undefined }>();
    for (let n = 0; !this.stopped; n++) {
      const key = this.pickKey();
      const node = this.pick();
      if (Math.random() < 0.35) {
        const r = await via[node]!.write(key, `${name}-${n}`, Q);
        if (r.outcome === 'ok') lastAcked.set(key, { seq: n, op: this.lastOp(name, 'write', key) });
        else await pace();
        continue;
      }
      const r = await via[node]!.read(key, Q);
      if (r.outcome !== 'ok') {
        await pace();
        continue;
      }
      const op = this.lastOp(name, 'read', key);
      this.reads.push({ node, op, version: r.version });
      const value = r.value!;
      const where = `${describeOp(op)} through node ${node}`;
      // Read-your-writes.
      const mine = lastAcked.get(key);
      if (mine !== undefined && value !== mine.op.value) {
        const w = value === null ? undefined : this.writeOfValue(value);
        const ownSeq = value?.startsWith(`${name}-`) ? Number(value.slice(name.length + 1)) : undefined;
        if (value === null) {
          this.problems.push(`${where}: absent after its own acknowledged ${describeOp(mine.op)}`);
        } else if (w?.outcome === 'ok' && ownSeq !== undefined && ownSeq < mine.seq) {
          this.problems.push(`${where}: its own older write after its later ${describeOp(mine.op)}`);
        } else if (w?.outcome === 'ok' && w.completedAt! < mine.op.invokedAt) {
          this.problems.push(
            `${where}: the value of ${describeOp(w)}, acknowledged before its own ${describeOp(mine.op)} was invoked`,
          );
        }
      }
      // Monotonic reads.
      const prev = lastRead.get(key);
      if (prev !== undefined && prev.value !== null) {
        if (value === null) {
          this.problems.push(`${where}: absent after its previous read returned ${prev.value}`);
        } else if (compareVersions(r.version!, prev.version!) < 0) {
          this.problems.push(
            `${where}: version ${fmtVersion(r.version)}, older than ${prev.value} at ${fmtVersion(prev.version)} from its previous read`,
          );
        }
      }
      lastRead.set(key, { value, version: r.version });
    }
  }

  /**
   * Judges the run: the history checker, then the sessions' own checks. A
   * failure report lists every read of the violating key that completed
   * after the violation's first operation was invoked, with the versions
   * returned (the same value under two versions would mean a write got a
   * second version after a read had returned it), and each node's count of
   * writes stamped above its own clock.
   */
  async assertClean(nodes: readonly NodeProcess[], note = ''): Promise<void> {
    const violations = checkHistory(this.history);
    const summary = formatSummary(summarizeHistory(this.history));
    if (violations.length > 0) {
      throw new Error(
        `${formatViolations(violations)}\n${await this.diagnose(violations, nodes)}${note}\n${summary}`,
      );
    }
    if (this.problems.length > 0) {
      throw new Error(
        `${this.problems.length} session guarantee(s) broken:\n${this.problems.slice(0, 20).join('\n')}\n${summary}`,
      );
    }
  }

  private async diagnose(vs: readonly Violation[], nodes: readonly NodeProcess[]): Promise<string> {
    const lines: string[] = [];
    for (const v of vs.slice(0, 3)) {
      const from = Math.min(...v.ops.map((o) => o.invokedAt));
      lines.push(
        `reads of ${v.key} completed after ${from.toFixed(1)} ms, up to the violating read (version ms.logical@node):`,
      );
      for (const r of this.reads) {
        if (r.op.key !== v.key || r.op.completedAt! < from || r.op.invokedAt > v.read.invokedAt) continue;
        lines.push(`  ${describeOp(r.op)} through node ${r.node} @ ${fmtVersion(r.version)}`);
      }
    }
    for (const n of nodes) {
      const text = await fetch(`${n.adminUrl}/metrics`)
        .then((res) => res.text())
        .catch(() => '');
      const line = text.split('\n').find((l) => l.startsWith('meshcache_restamps_total'));
      lines.push(`${n.id}: ${line ?? 'meshcache_restamps_total not found'}`);
    }
    return lines.join('\n');
  }
}

function fmtVersion(v: Version | undefined): string {
  return v === undefined ? 'none' : `${v.physicalMs}.${v.logical}@${v.node}`;
}

/**
 * Read-your-writes and monotonic reads at QUORUM writes / QUORUM reads under
 * concurrent writers (the history checker judges every operation; the
 * sessions check their own guarantees too).
 */
describe('replication: read-your-writes and monotonic reads at QUORUM', () => {
  let cluster: Cluster | undefined;
  const clients: MeshcacheClient[] = [];
  let frozen: NodeProcess | undefined;

  afterEach(async () => {
    frozen?.child.kill('SIGCONT');
    frozen = undefined;
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await cluster?.stopAll();
    cluster = undefined;
  });

  const start = async (): Promise<[NodeProcess, NodeProcess, NodeProcess]> => {
    cluster = await Cluster.start(3, { args: ['--remove-after-ms', '120000'] });
    await cluster.waitForAgreement(cluster.nodes, (v) => v.members.length === 3);
    for (const node of cluster.nodes) clients.push(createClient({ url: node.grpcAddress }));
    return cluster.nodes as [NodeProcess, NodeProcess, NodeProcess];
  };

  it('two hot keys, every process on them through every node: no read goes back, no session misses its own write', async () => {
    // Most contention there can be: concurrent writes of one key through
    // different coordinators keep finding newer versions on replicas (this is
    // where re-stamping once brought overwritten values back), while reads
    // through a third coordinator settle on and repair whatever is newest.
    const nodes = await start();
    const keys = ['hot:0', 'hot:1'];
    const w = new SessionWorkload(clients, keys, 4, 6, () => [0, 1, 2]);
    try {
      await waitFor(() => w.readsSince(0) >= 3000, { timeoutMs: 120_000, what: '3000 session reads' });
    } finally {
      await w.stop();
    }
    for (const c of clients) await readAll(c, keys, w.history, 'QUORUM');
    await w.assertClean(nodes);
  });

  it('with one replica frozen and thawed three times (lagging), under concurrent writers', async () => {
    // C is frozen with SIGSTOP and thawed three times: it misses writes while
    // frozen, gets them by hints (or from its socket) after, and reads
    // coordinated by C meet its stale copy until then. Operations avoid C while
    // it is frozen (one that picked it just before hangs to its timeout and
    // counts as unknown) and use it again right after the thaw.
    const [a, b, c] = await start();
    const c0 = cluster!;
    const keys = Array.from({ length: 6 }, (_, i) => `ryw:${i}`);
    let cFrozen = false;
    const w = new SessionWorkload(clients, keys, 3, 5, () => (cFrozen ? [0, 1] : [0, 1, 2]));
    const pauses: { from: number; to: number }[] = [];
    try {
      let since = performance.now();
      for (let cycle = 0; cycle < 3; cycle++) {
        await waitFor(() => w.readsSince(since) >= 300 && w.readsSince(since, 2) >= 50, {
          timeoutMs: 60_000,
          what: `reads with every node up, through C too (cycle ${cycle})`,
        });
        c.child.kill('SIGSTOP');
        frozen = c;
        cFrozen = true;
        const from = performance.now();
        try {
          // In the second cycle C stays frozen until A and B mark it DEAD:
          // writes then skip it and hint it at once (not only at their deadline).
          if (cycle === 1) {
            await waitFor(
              async () =>
                (await Promise.all([a, b].map((o) => c0.stateOf(o, c.id)))).every((st) => st === 'dead'),
              { timeoutMs: 30_000, intervalMs: 50, what: 'A and B to mark C DEAD' },
            );
          }
          await waitFor(() => w.readsSince(from) >= 300, {
            timeoutMs: 60_000,
            what: `reads while C is frozen (cycle ${cycle})`,
          });
        } finally {
          c.child.kill('SIGCONT');
          frozen = undefined;
          cFrozen = false;
        }
        const to = performance.now();
        pauses.push({ from, to });
        since = to;
      }
      await waitFor(() => w.readsSince(since) >= 300 && w.readsSince(since, 2) >= 50, {
        timeoutMs: 60_000,
        what: 'reads after the last thaw, through C too',
      });
    } finally {
      await w.stop();
    }

    // C caught up (no hint waiting or in flight anywhere); then a last QUORUM read of every key through each node.
    await waitFor(
      async () =>
        (await Promise.all(c0.nodes.map(infoOf))).every((i) => {
          const h = i.replication.hints;
          return i.replication.hintsPending === 0 && h.queued === h.replayed + h.expired + h.dropped;
        }),
      { timeoutMs: 60_000, what: 'every hint to be replayed' },
    );
    for (const cl of clients) await readAll(cl, keys, w.history, 'QUORUM');
    await w.assertClean(
      c0.nodes,
      `\nC frozen during (ms): ${pauses.map((p) => `${p.from.toFixed(1)}–${p.to.toFixed(1)}`).join(', ')}`,
    );
    // The lag was real: reads completed while C was frozen, and C missed writes (hints were queued for it).
    const duringPauses = w.reads.filter((r) =>
      pauses.some((p) => r.op.invokedAt >= p.from && r.op.completedAt! <= p.to),
    ).length;
    expect(pauses).toHaveLength(3);
    expect(duringPauses).toBeGreaterThanOrEqual(3 * 300);
    const queued = (await Promise.all([a, b].map(infoOf))).reduce(
      (n, i) => n + i.replication.hints.queued,
      0,
    );
    expect(queued).toBeGreaterThan(0);
  });
});
