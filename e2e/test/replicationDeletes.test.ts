import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { createClient, type MeshcacheClient } from '@meshcache/client';
import { Cluster, getJson } from '../src/Cluster.js';
import {
  checkHistory,
  formatSummary,
  formatViolations,
  History,
  summarizeHistory,
} from '../src/history/index.js';
import type { NodeProcess } from '../src/NodeProcess.js';
import { type RecordedCallOptions, RecordingClient, runWriters } from '../src/replication/Workload.js';
import { waitFor } from '../src/waitFor.js';

jest.setTimeout(240_000);

/**
 * The delete and expiry matrix of replicated caches (RF 3 on three nodes, so
 * every node is a replica of every key): a delete, an expiry or an eviction
 * must never let an older copy come back, whatever a replica missed.
 *
 * How the scenarios set up stale replicas without touching a node's store:
 * - SIGSTOP freezes a replica (C). Until the others mark it DEAD, they still
 *   send to it (the requests wait in its socket and apply on SIGCONT); once it
 *   is DEAD nothing is sent and a write round hints it at once. Waiting for
 *   DEAD before a mutation therefore makes the hint the ONLY way the mutation
 *   can reach C.
 * - `--max-hint-age-ms 1000` makes hints expire while C is still frozen: the
 *   mutation then never reaches C at all (it is published as unsettled and
 *   pinned on the replicas that hold it), so C keeps its older copy for good
 *   and only a read (repair) can fix it.
 * - `--read-repair-chance 0`: reads at ONE read the coordinator's own store and
 *   nothing else, so the test can look at one replica's copy (these peeks are
 *   not recorded in the history: a ONE read of a stale replica is allowed to
 *   be stale) without repairing anything.
 * - SIGSTOP of a second replica (B) while reading at QUORUM through A or C
 *   forces the read to settle on the answers of A and C: the newer tombstone
 *   against C's older value, instead of letting B's answer hide the race.
 * - `--remove-after-ms 120000`: a frozen replica stays in the view (only its
 *   liveness changes), so the replica sets never move during a scenario.
 * - `--anti-entropy false`: the stale replicas these scenarios build must stay
 *   stale until a read repairs them (anti-entropy has its own tests).
 * Every scenario records what its clients saw in a History; eviction, which
 * no client asks for, is recorded as a delete of unknown outcome invoked when
 * the filling starts (the cache may drop the key at any instant after that).
 */

const COMMON_ARGS = ['--remove-after-ms', '120000', '--read-repair-chance', '0', '--anti-entropy', 'false'];
const Q: RecordedCallOptions = { consistency: 'QUORUM', timeoutMs: 5000 };
const ONE: RecordedCallOptions = { consistency: 'ONE', timeoutMs: 5000 };

interface CacheInfo {
  name: string;
  keys: number;
  tombstones: number;
  stats: { evictions: number; evictionMarkers: number; tombstonesPurged: number; expirations: number };
}

interface HintCounters {
  queued: number;
  replayed: number;
  expired: number;
  dropped: number;
}

interface Info {
  caches: CacheInfo[];
  replication: { hintsPending: number; hints: HintCounters };
}

interface Digests {
  items: number;
  slots: Record<string, string>;
}

const infoOf = (node: NodeProcess) => getJson<Info>(`${node.adminUrl}/v1/info`);
const cacheInfo = async (node: NodeProcess, cache = 'default') =>
  (await infoOf(node)).caches.find((c) => c.name === cache)!;
const digestsOf = (node: NodeProcess, cache = 'default') =>
  getJson<Digests>(`${node.adminUrl}/v1/caches/${cache}/digests`);

/** No hint waiting and none in flight: everything queued was replayed, or expired or dropped. */
function hintsSettled(i: Info): boolean {
  const h = i.replication.hints;
  return i.replication.hintsPending === 0 && h.queued === h.replayed + h.expired + h.dropped;
}

const keysOf = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}:${i}`);

/** Three nodes, a client per node, one history; frozen nodes are resumed before anything is stopped. */
class Bed {
  readonly history = new History();
  readonly clients: MeshcacheClient[];
  private readonly frozen = new Set<NodeProcess>();

  private constructor(readonly cluster: Cluster) {
    this.clients = cluster.nodes.map((n) => createClient({ url: n.grpcAddress }));
  }

  static async start(args: string[], nodeArgs?: (i: number) => string[]): Promise<Bed> {
    const cluster = await Cluster.start(3, { args: [...COMMON_ARGS, ...args], nodeArgs });
    const bed = new Bed(cluster);
    await cluster.waitForAgreement(cluster.nodes, (v) => v.members.length === 3);
    await bed.waitHealthy();
    return bed;
  }

  get nodes(): [NodeProcess, NodeProcess, NodeProcess] {
    return this.cluster.nodes as [NodeProcess, NodeProcess, NodeProcess];
  }

  /** A logical client process coordinating through node `i`. */
  via(i: number, process: string): RecordingClient {
    return new RecordingClient(this.history, process, this.clients[i]!);
  }

  freeze(node: NodeProcess): void {
    this.frozen.add(node);
    node.child.kill('SIGSTOP');
  }

  thaw(node: NodeProcess): void {
    node.child.kill('SIGCONT');
    this.frozen.delete(node);
  }

  /** Waits until every node in `observers` sees `target` in `state`. */
  async waitState(observers: NodeProcess[], target: NodeProcess, state: string): Promise<void> {
    await waitFor(
      async () =>
        (await Promise.all(observers.map((o) => this.cluster.stateOf(o, target.id)))).every(
          (s) => s === state,
        ),
      {
        timeoutMs: 30_000,
        intervalMs: 50,
        what: `${observers.map((o) => o.id).join(', ')} to see ${target.id} ${state}`,
      },
    );
  }

  /** Every node sees every other ALIVE (after a SIGCONT the thawed node refutes, and sees the others again). */
  async waitHealthy(): Promise<void> {
    await waitFor(
      async () => {
        for (const o of this.nodes) {
          const m = await this.cluster.members(o);
          if (!m.members.every((x) => x.state === 'alive')) return false;
        }
        return true;
      },
      { timeoutMs: 30_000, intervalMs: 50, what: 'every node to see every other ALIVE' },
    );
  }

  async waitHintsSettled(nodes: NodeProcess[] = this.nodes): Promise<Info[]> {
    return waitFor(
      async () => {
        const infos = await Promise.all(nodes.map(infoOf));
        return infos.every(hintsSettled) ? infos : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 50, what: 'every hint to be replayed, expired or dropped' },
    );
  }

  /** Waits until the three nodes report identical per-slot digests of `cache`; returns them. */
  async waitDigestsEqual(cache = 'default'): Promise<Digests[]> {
    let last: Digests[] = [];
    try {
      await waitFor(
        async () => {
          last = await Promise.all(this.nodes.map((n) => digestsOf(n, cache)));
          return last.every((d) => JSON.stringify(d) === JSON.stringify(last[0]));
        },
        { timeoutMs: 30_000, intervalMs: 100, what: `identical digests of ${cache} on the three nodes` },
      );
    } catch {
      // Fall through: the assertion below shows how they differ.
    }
    expect(last[1]).toEqual(last[0]);
    expect(last[2]).toEqual(last[0]);
    return last;
  }

  /** The value node i's own store holds (a ONE read, NOT recorded: a stale replica may answer stale). */
  async peek(i: number, key: string, cache?: string): Promise<string | null> {
    const got = await this.clients[i]!.get<string>(key, { consistency: 'ONE', cache, timeoutMs: 5000 });
    return got ?? null;
  }

  /** A recorded read that must answer: retried (each attempt recorded) while it fails, e.g. just after a thaw. */
  async read(rc: RecordingClient, key: string, o: RecordedCallOptions): Promise<string | null> {
    let lastError: unknown;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const r = await rc.read(key, o);
      if (r.outcome === 'ok') return r.value!;
      lastError = r.error;
      await new Promise((r) => setTimeout(r, 100)); // pacing between attempts
    }
    throw new Error(`read of ${key} through ${rc.process} never answered`, { cause: lastError });
  }

  assertHistoryClean(): void {
    const violations = checkHistory(this.history);
    if (violations.length > 0) {
      throw new Error(`${formatViolations(violations)}\n${formatSummary(summarizeHistory(this.history))}`);
    }
  }

  async stop(): Promise<void> {
    for (const n of this.frozen) n.child.kill('SIGCONT');
    this.frozen.clear();
    await Promise.all(this.clients.map((c) => c.close()));
    await this.cluster.stopAll();
  }
}

/** A mutation the scenario needs acknowledged to mean anything. */
function expectOk(r: { outcome: string; error?: unknown }, what: string): void {
  if (r.outcome !== 'ok') throw new Error(`${what}: ${r.outcome}`, { cause: r.error });
}

describe('replication: deletes, expiries and evictions never bring an older value back', () => {
  let bed: Bed | undefined;

  afterEach(async () => {
    await bed?.stop();
    bed = undefined;
  });

  it('a replica paused during deletes gets them by hint replay: absent through every node at QUORUM and ONE, identical digests', async () => {
    bed = await Bed.start([]);
    const b0 = bed;
    const [a, b, c] = bed.nodes;
    const viaA = bed.via(0, 'viaA');
    const viaB = bed.via(1, 'viaB');
    const viaC = bed.via(2, 'viaC');
    // sent: deleted right after the freeze, while C is not yet DEAD: the APPLY
    //   waits in C's socket, the round hints C at its deadline; both arrive.
    // dead: deleted once C is DEAD: nothing is sent, the hint is the only way.
    // rewritten: deleted through B, then written again through A, both while C
    //   is DEAD: two hints in two coordinators' queues, replayed in either order.
    // fresh: deleted while C is DEAD, never written: C holds nothing, the hint
    //   is a tombstone for a key C never saw.
    const sent = keysOf('sent', 6);
    const dead = keysOf('dead', 6);
    const rewritten = keysOf('rewritten', 6);
    const fresh = keysOf('fresh', 4);
    const all = [...sent, ...dead, ...rewritten, ...fresh];
    const expected = new Map<string, string | null>(all.map((k) => [k, null]));
    for (const k of [...sent, ...dead, ...rewritten])
      expectOk(await viaA.write(k, `${k}=v1`, Q), `v1 of ${k}`);
    // Every replica holds v1 before the freeze (the QUORUM write may have answered before C applied it).
    await waitFor(
      async () =>
        (await Promise.all([...sent, ...dead, ...rewritten].map((k) => b0.peek(2, k)))).every(
          (v) => v !== null,
        ),
      {
        what: 'C to hold every v1',
      },
    );

    const queuedBefore = (await Promise.all([a, b].map(infoOf))).reduce(
      (n, i) => n + i.replication.hints.queued,
      0,
    );
    bed.freeze(c);
    const sentOk = await Promise.all(
      sent.map((k, i) => (i % 2 === 0 ? viaA : viaB).delete(k, { ...Q, timeoutMs: 1500 })),
    );
    sentOk.forEach((r, i) => expectOk(r, `delete of ${sent[i]}`));
    await bed.waitState([a, b], c, 'dead');
    for (const [i, k] of dead.entries())
      expectOk(await (i % 2 === 0 ? viaA : viaB).delete(k, Q), `delete of ${k}`);
    for (const k of rewritten) {
      expectOk(await viaB.delete(k, Q), `delete of ${k}`);
      expectOk(await viaA.write(k, `${k}=v3`, Q), `rewrite of ${k}`);
      expected.set(k, `${k}=v3`);
    }
    for (const k of fresh) expectOk(await viaA.delete(k, Q), `delete of ${k}`);
    // Every one of those mutations missed C and waits as a hint on its coordinator.
    const missed = sent.length + dead.length + 2 * rewritten.length + fresh.length;
    // (Counted as queued: a hint may already be in flight to C, waiting in its socket.)
    let queued: number[] = [];
    await waitFor(
      async () => {
        queued = (await Promise.all([a, b].map(infoOf))).map((i) => i.replication.hints.queued);
        return queued[0]! + queued[1]! === queuedBefore + missed;
      },
      { timeoutMs: 30_000, what: `${missed} hints for C on A and B` },
    ).catch((err: Error) => {
      throw new Error(`${err.message} (queued on A, B: ${queued.join(', ')}; before: ${queuedBefore})`);
    });
    // With C frozen, QUORUM reads through A and B see the deletes.
    for (const k of all) {
      expect(await bed.read(viaA, k, Q)).toBe(expected.get(k));
      expect(await bed.read(viaB, k, Q)).toBe(expected.get(k));
    }

    // Thaw C and read through it, at QUORUM, while the hints replay: each read
    // races the replay of its key (C's own store may still hold v1; the read
    // must settle on the tombstone and repair C).
    bed.thaw(c);
    let replaying = true;
    let racingReads = 0;
    const racing = (async () => {
      while (replaying) {
        for (const k of all) {
          const r = await viaC.read(k, Q);
          if (r.outcome === 'ok') racingReads++;
          if (!replaying) break;
        }
      }
    })();
    try {
      const infos = await bed.waitHintsSettled();
      await bed.waitHealthy();
      const replayed = infos.reduce((n, i) => n + i.replication.hints.replayed, 0);
      expect(replayed).toBeGreaterThanOrEqual(missed);
    } finally {
      replaying = false;
      await racing;
    }

    // Every node, at QUORUM and at ONE: the deleted keys are absent, the rewritten ones hold v3.
    for (const [i, rc] of [viaA, viaB, viaC].entries()) {
      for (const k of all) {
        expect({ k, via: i, got: await bed.read(rc, k, Q) }).toEqual({ k, via: i, got: expected.get(k) });
        expect({ k, via: i, got: await bed.read(rc, k, ONE) }).toEqual({ k, via: i, got: expected.get(k) });
      }
    }
    const digests = await bed.waitDigestsEqual();
    expect(digests[0]!.items).toBeGreaterThanOrEqual(all.length);
    expect(racingReads).toBeGreaterThan(0);
    bed.assertHistoryClean();
  });

  it('a read repair after a delete C never received brings C the tombstone, never the deleted value back', async () => {
    // Hints expire after 1 s, so the deletes never reach C by hint; tombstones
    // may be purged 3 s after they are written once settled, so a tombstone
    // C never received must stay anyway (it is unsettled, pinned).
    // C keeps a long grace: a node out of touch for longer than its grace wipes
    // its data and bootstraps when back, which would hide the stale copy this
    // scenario needs (rebalanceRestart and antiEntropy test that path).
    bed = await Bed.start(['--max-hint-age-ms', '1000'], (i) => [
      '--tombstone-grace-ms',
      i === 2 ? '600000' : '3000',
    ]);
    const b0 = bed;
    const [a, b, c] = bed.nodes;
    const viaA = bed.via(0, 'viaA');
    const viaB = bed.via(1, 'viaB');
    const viaC = bed.via(2, 'viaC');
    const keys = keysOf('rr', 8);
    for (const k of keys) expectOk(await viaA.write(k, `${k}=v1`, Q), `v1 of ${k}`);
    await waitFor(async () => (await Promise.all(keys.map((k) => b0.peek(2, k)))).every((v) => v !== null), {
      what: 'C to hold every v1',
    });

    bed.freeze(c);
    await bed.waitState([a, b], c, 'dead');
    for (const [i, k] of keys.entries())
      expectOk(await (i % 2 === 0 ? viaA : viaB).delete(k, Q), `delete of ${k}`);
    // The deletes' hints to C expire unreplayed while C is frozen.
    await waitFor(
      async () => {
        const infos = await Promise.all([a, b].map(infoOf));
        return (
          infos.every(hintsSettled) &&
          infos.reduce((n, i) => n + i.replication.hints.expired, 0) >= keys.length
        );
      },
      { timeoutMs: 30_000, what: "the deletes' hints to C to expire" },
    );
    bed.thaw(c);
    await bed.waitHealthy();

    // A control tombstone every replica holds (settled) is purged past its
    // grace: once A and B have purged it, the grace of the earlier deletes has
    // passed too, and only their pins keep them.
    const purgedBefore = await Promise.all(
      [a, b].map(async (n) => (await cacheInfo(n)).stats.tombstonesPurged),
    );
    expectOk(await viaA.write('control', 'control=v1', Q), 'control write');
    expectOk(await viaA.delete('control', Q), 'control delete');
    await waitFor(
      async () =>
        (await Promise.all([a, b].map(async (n) => (await cacheInfo(n)).stats.tombstonesPurged))).every(
          (p, i) => p > purgedBefore[i]!,
        ),
      { timeoutMs: 60_000, intervalMs: 100, what: 'A and B to purge the settled control tombstone' },
    );
    for (const n of [a, b]) expect((await cacheInfo(n)).tombstones).toBeGreaterThanOrEqual(keys.length);
    // The stale state is real: C still holds v1 (nothing delivered the deletes), A and B hold tombstones.
    for (const k of keys) {
      expect({ k, c: await bed.peek(2, k) }).toEqual({ k, c: `${k}=v1` });
      expect({ k, a: await bed.peek(0, k), b: await bed.peek(1, k) }).toEqual({ k, a: null, b: null });
    }

    // B frozen: a QUORUM read through A settles on A's tombstone against C's
    // v1; one through C on C's v1 against A's tombstone. Both must answer absent
    // and repair C.
    bed.freeze(b);
    try {
      for (const [i, k] of keys.entries()) {
        expect({ k, got: await bed.read(i % 2 === 0 ? viaA : viaC, k, Q) }).toEqual({ k, got: null });
      }
    } finally {
      bed.thaw(b);
    }
    await bed.waitHealthy();
    // The repair left C the tombstone.
    for (const k of keys) expect({ k, c: await bed.peek(2, k) }).toEqual({ k, c: null });
    for (const rc of [viaA, viaB, viaC]) {
      for (const k of keys)
        expect({ k, via: rc.process, got: await bed.read(rc, k, Q) }).toEqual({
          k,
          via: rc.process,
          got: null,
        });
    }
    bed.assertHistoryClean();
  });

  it('a write racing a delete of the same key: every node settles on one outcome, before and after a paused replica catches up', async () => {
    // Skewed clocks (node 0 ahead, node 1 behind): the node behind must stamp
    // above what its replicas already hold, not by its own clock.
    const offsets = [150, -150, 0];
    bed = await Bed.start([], (i) => ['--test-clock-offset-ms', String(offsets[i] ?? 0)]);
    const [a, b, c] = bed.nodes;
    const via = [bed.via(0, 'viaA'), bed.via(1, 'viaB'), bed.via(2, 'viaC')];
    const readers = [bed.via(0, 'readA'), bed.via(1, 'readB'), bed.via(2, 'readC')];

    /**
     * One round: a write, a delete and another write of one key, issued at
     * once through three coordinators (roles rotate). Whatever wins, three
     * sequential QUORUM reads through the `up` nodes must then agree.
     */
    const round = async (key: string, r: number, up: number[]): Promise<void> => {
      const roles = up.map((_, j) => up[(j + r) % up.length]!);
      const ops = [
        via[roles[0]!]!.write(key, `${key}=r${r}w0`, Q),
        via[roles[1]!]!.delete(key, Q),
        ...(roles[2] === undefined ? [] : [via[roles[2]]!.write(key, `${key}=r${r}w2`, Q)]),
      ];
      const outcomes = await Promise.all(ops);
      const seen: (string | null)[] = [];
      for (const i of up) seen.push(await bed!.read(readers[i]!, key, Q));
      // Only when every mutation answered can nothing still land between the reads.
      if (outcomes.every((o) => o.outcome === 'ok')) {
        expect({ key, r, seen }).toEqual({ key, r, seen: seen.map(() => seen[0]) });
      }
    };

    // Phase 1: all three replicas up.
    const keys1 = keysOf('race', 6);
    for (let r = 0; r < 60; r++) await round(keys1[r % keys1.length]!, r, [0, 1, 2]);
    // Plus free-running writers, deleters and readers on two keys through all
    // three nodes: reads there also land while a write or delete is still in
    // its round (already visible on some replicas, not yet acknowledged).
    const hot = keysOf('hot', 2);
    let ops = 0;
    await runWriters({
      clients: bed.clients,
      keys: hot,
      writers: 8,
      history: bed.history,
      consistency: 'QUORUM',
      deleteShare: 0.4,
      readShare: 0.3,
      stop: () => ++ops > 4000,
    });
    await bed.waitHintsSettled();
    await bed.waitDigestsEqual();

    // Phase 2: C frozen (and DEAD), the same races through A and B; C misses
    // every one, its hints come from two coordinators and replay in any order.
    bed.freeze(c);
    await bed.waitState([a, b], c, 'dead');
    const keys2 = keysOf('race2', 6);
    for (let r = 0; r < 40; r++) await round(keys2[r % keys2.length]!, r, [0, 1]);
    bed.thaw(c);
    // QUORUM reads through C race the replay.
    let replaying = true;
    const racing = (async () => {
      while (replaying) for (const k of keys2) await readers[2]!.read(k, Q);
    })();
    try {
      await bed.waitHintsSettled();
      await bed.waitHealthy();
    } finally {
      replaying = false;
      await racing;
    }
    await bed.waitDigestsEqual();
    // Caught up: C's own copy (ONE) is what a QUORUM read through A returns, for every key.
    for (const k of [...keys1, ...hot, ...keys2]) {
      const quorum = await bed.read(readers[0]!, k, Q);
      const one = await bed.read(readers[2]!, k, ONE);
      expect({ k, one }).toEqual({ k, one: quorum });
    }
    bed.assertHistoryClean();
  });

  it('a TTL overwrite that expired while C was paused reaches C by hint as an expiry: C never shows the older value', async () => {
    bed = await Bed.start([]);
    const b0 = bed;
    const [a, b, c] = bed.nodes;
    const viaA = bed.via(0, 'viaA');
    const viaB = bed.via(1, 'viaB');
    const viaC = bed.via(2, 'viaC');
    const keys = keysOf('ttl', 8);
    for (const k of keys) expectOk(await viaA.write(k, `${k}=v1`, Q), `v1 of ${k}`);
    await waitFor(async () => (await Promise.all(keys.map((k) => b0.peek(2, k)))).every((v) => v !== null), {
      what: 'C to hold every v1',
    });

    bed.freeze(c);
    await bed.waitState([a, b], c, 'dead');
    // v2 with a 2 s TTL reaches A and B only; C gets a hint.
    for (const [i, k] of keys.entries()) {
      expectOk(await (i % 2 === 0 ? viaA : viaB).write(k, `${k}=v2`, { ...Q, ttlMs: 2000 }), `v2 of ${k}`);
    }
    // v2 expires on A and B (their own stores answer absent) before C is thawed.
    await waitFor(
      async () =>
        (await Promise.all(keys.flatMap((k) => [b0.peek(0, k), b0.peek(1, k)]))).every((v) => v === null),
      { timeoutMs: 30_000, what: 'v2 to expire on A and B' },
    );
    expect((await infoOf(a)).replication.hintsPending + (await infoOf(b)).replication.hintsPending).toBe(
      keys.length,
    );
    for (const k of keys) expect({ k, got: await bed.read(viaA, k, Q) }).toEqual({ k, got: null });

    // Thaw: the hints carry v2 with an expiry already past (C stores it as an
    // expiry of v2's version); QUORUM reads through C race the replay.
    bed.thaw(c);
    let replaying = true;
    const racing = (async () => {
      while (replaying) for (const k of keys) await viaC.read(k, Q);
    })();
    try {
      await bed.waitHintsSettled();
      await bed.waitHealthy();
    } finally {
      replaying = false;
      await racing;
    }
    for (const rc of [viaA, viaB, viaC]) {
      for (const k of keys) {
        expect({ k, via: rc.process, got: await bed.read(rc, k, Q) }).toEqual({
          k,
          via: rc.process,
          got: null,
        });
        expect({ k, via: rc.process, got: await bed.read(rc, k, ONE) }).toEqual({
          k,
          via: rc.process,
          got: null,
        });
      }
    }
    await bed.waitDigestsEqual();
    bed.assertHistoryClean();
  });

  it('a TTL overwrite C never received (its hint expired) expires on A and B: a read repair gives C the expiry, never v1', async () => {
    bed = await Bed.start(['--max-hint-age-ms', '1000']);
    const b0 = bed;
    const [a, b, c] = bed.nodes;
    const viaA = bed.via(0, 'viaA');
    const viaB = bed.via(1, 'viaB');
    const viaC = bed.via(2, 'viaC');
    const keys = keysOf('ttl-lost', 8);
    for (const k of keys) expectOk(await viaA.write(k, `${k}=v1`, Q), `v1 of ${k}`);
    await waitFor(async () => (await Promise.all(keys.map((k) => b0.peek(2, k)))).every((v) => v !== null), {
      what: 'C to hold every v1',
    });

    bed.freeze(c);
    await bed.waitState([a, b], c, 'dead');
    for (const [i, k] of keys.entries()) {
      expectOk(await (i % 2 === 0 ? viaA : viaB).write(k, `${k}=v2`, { ...Q, ttlMs: 2000 }), `v2 of ${k}`);
    }
    // The hints expire unreplayed, then v2 expires on A and B.
    await waitFor(
      async () => {
        const infos = await Promise.all([a, b].map(infoOf));
        return (
          infos.every(hintsSettled) &&
          infos.reduce((n, i) => n + i.replication.hints.expired, 0) >= keys.length
        );
      },
      { timeoutMs: 30_000, what: "v2's hints to C to expire" },
    );
    await waitFor(
      async () =>
        (await Promise.all(keys.flatMap((k) => [b0.peek(0, k), b0.peek(1, k)]))).every((v) => v === null),
      { timeoutMs: 30_000, what: 'v2 to expire on A and B' },
    );
    bed.thaw(c);
    await bed.waitHealthy();
    // The stale state is real: C still holds v1.
    for (const k of keys) expect({ k, c: await bed.peek(2, k) }).toEqual({ k, c: `${k}=v1` });

    // B frozen: QUORUM reads through A and C settle on v2's expiry against C's v1.
    bed.freeze(b);
    try {
      for (const [i, k] of keys.entries()) {
        expect({ k, got: await bed.read(i % 2 === 0 ? viaA : viaC, k, Q) }).toEqual({ k, got: null });
      }
    } finally {
      bed.thaw(b);
    }
    await bed.waitHealthy();
    for (const k of keys) expect({ k, c: await bed.peek(2, k) }).toEqual({ k, c: null });
    for (const rc of [viaA, viaB, viaC]) {
      for (const k of keys)
        expect({ k, via: rc.process, got: await bed.read(rc, k, Q) }).toEqual({
          k,
          via: rc.process,
          got: null,
        });
    }
    bed.assertHistoryClean();
  });

  it('a key evicted on two replicas while the third holds an older value: a QUORUM read answers absent or the newer value, never the older', async () => {
    bed = await Bed.start([
      '--max-hint-age-ms',
      '1000',
      '--caches',
      '[{name: default}, {name: small, maxMemoryBytes: 256Ki, maxValueBytes: 1Ki, evictionPolicy: lru}]',
    ]);
    const b0 = bed;
    const [a, b, c] = bed.nodes;
    const S: RecordedCallOptions = { ...Q, cache: 'small' };
    const viaA = bed.via(0, 'viaA');
    const viaB = bed.via(1, 'viaB');
    const viaC = bed.via(2, 'viaC');
    const keys = keysOf('ev', 4);
    for (const k of keys) expectOk(await viaA.write(k, `${k}=v1`, S), `v1 of ${k}`);
    await waitFor(
      async () => (await Promise.all(keys.map((k) => b0.peek(2, k, 'small')))).every((v) => v !== null),
      { what: 'C to hold every v1' },
    );

    bed.freeze(c);
    await bed.waitState([a, b], c, 'dead');
    for (const k of keys) expectOk(await viaA.write(k, `${k}=v2`, S), `v2 of ${k}`);
    // v2's hints to C expire: C keeps v1 for good (A and B pin v2 as unsettled).
    await waitFor(
      async () => {
        const infos = await Promise.all([a, b].map(infoOf));
        return (
          infos.every(hintsSettled) &&
          infos.reduce((n, i) => n + i.replication.hints.expired, 0) >= keys.length
        );
      },
      { timeoutMs: 30_000, what: "v2's hints to C to expire" },
    );

    // Fill the small cache on A and B (C is frozen: it gets nothing, and the
    // fillers' hints expire before it is thawed) until v2 is evicted on both.
    // Each batch is larger than the cache, so the peeks (which touch the LRU
    // order) cannot keep v2 in.
    const evictors = keys.map((k) => bed!.history.invoke('evictor', 'delete', k));
    const filler = 'x'.repeat(800);
    let n = 0;
    await waitFor(
      async () => {
        const batch = Array.from({ length: 400 }, () => n++);
        for (let i = 0; i < batch.length; i += 50) {
          await Promise.all(
            batch.slice(i, i + 50).map((j) =>
              b0.clients[j % 2]!.set(`fill:${j}`, `${filler}${j}`, {
                consistency: 'QUORUM',
                cache: 'small',
              }),
            ),
          );
        }
        const left = await Promise.all(keys.flatMap((k) => [b0.peek(0, k, 'small'), b0.peek(1, k, 'small')]));
        return left.every((v) => v === null);
      },
      { timeoutMs: 60_000, intervalMs: 0, what: 'v2 to be evicted on A and B' },
    );
    for (const e of evictors) bed.history.complete(e, 'unknown');
    for (const node of [a, b])
      expect((await cacheInfo(node, 'small')).stats.evictionMarkers).toBeGreaterThan(0);
    // The fillers' hints are gone before the thaw (else they would fill C's cache and evict v1 there).
    await bed.waitHintsSettled([a, b]);
    bed.thaw(c);
    await bed.waitHealthy();
    // The stale state is real: C still holds v1, A and B hold nothing readable.
    for (const k of keys) expect({ k, c: await bed.peek(2, k, 'small') }).toEqual({ k, c: `${k}=v1` });

    // B frozen: a QUORUM read through A settles on A's eviction marker against
    // C's v1; through C, on C's v1 against A's marker.
    bed.freeze(b);
    const answers: (string | null)[] = [];
    try {
      for (const [i, k] of keys.entries()) answers.push(await bed.read(i % 2 === 0 ? viaA : viaC, k, S));
    } finally {
      bed.thaw(b);
    }
    keys.forEach((k, i) => expect([null, `${k}=v2`]).toContain(answers[i]));
    await bed.waitHealthy();
    for (const rc of [viaA, viaB, viaC]) {
      for (const k of keys) expect([null, `${k}=v2`]).toContain(await bed.read(rc, k, S));
    }
    bed.assertHistoryClean();
  });
});
