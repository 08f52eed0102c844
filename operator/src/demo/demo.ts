#!/usr/bin/env node
// `npm start`: starts a 3-node meshcache cluster as local processes on
// loopback, writes keys at QUORUM through node 1, kills node 2 with SIGKILL,
// reads every key back at QUORUM through node 3, restarts node 2 under its
// id (it comes back empty and bootstraps), then adds a 4th node while keys
// are rewritten (its slots move to it) and reads every key back through it.
// Prints each step with its figures. Exits 0 only when every key came back
// with its latest acknowledged value.
//
//   node operator/dist/demo/demo.js [--keys 10000] [--keep-logs]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createClient, isMeshcacheError } from '@meshcache/client';
import { DemoNode, describeExit } from './DemoNode.js';
import {
  type InfoReply,
  type MembersReply,
  type ViewReply,
  clusterFormed,
  demoKey,
  demoValue,
  emptyTally,
  groupErrors,
  int,
  keyList,
  rate,
  secs,
  stepLine,
  tallyRead,
} from './checks.js';

const NODE_IDS = ['n1', 'n2', 'n3'] as const;
const CACHE = 'default';
/** The default cache's replication factor on three nodes. */
const FACTOR = 3;
/** Operations in flight at once (the client batches them into frames). */
const CONCURRENCY = 64;
const OP_TIMEOUT_MS = 5_000;
const FORM_TIMEOUT_MS = 30_000;
/** Most time the write phase or the read phase may take; keys not reached by then count as failed. */
const PHASE_TIMEOUT_MS = 20_000;
const DEAD_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 5_000;
/** Most time a restarted node may take to bootstrap, and a join to settle (every move cut over). */
const SETTLE_TIMEOUT_MS = 60_000;

/** A failure the demo explains itself (no stack trace). */
class DemoFailure extends Error {}

const out = (line = ''): void => void process.stdout.write(`${line}\n`);

// ------------------------------------------------- children and clean-up

/** Every node started, so that every way out kills them. */
const nodes: DemoNode[] = [];
let workDir: string | undefined;
let keepLogs = false;
let rejectCrash: (err: Error) => void = () => undefined;
/** Rejects when a node exits that the demo did not stop. */
const crashed = new Promise<never>((_, reject) => (rejectCrash = reject));
crashed.catch(() => undefined);

function killAll(): void {
  for (const n of nodes) {
    n.expectExit = true;
    n.signal('SIGKILL');
  }
}

function removeWorkDir(): void {
  if (workDir !== undefined && !keepLogs) rmSync(workDir, { recursive: true, force: true });
  workDir = undefined;
}

process.on('exit', () => {
  killAll();
  removeWorkDir();
});
for (const [signal, number] of [
  ['SIGINT', 2],
  ['SIGTERM', 15],
  ['SIGHUP', 1],
] as const) {
  process.on(signal, () => {
    const running = nodes.filter((n) => n.running).map((n) => `${n.id} (pid ${n.pid})`);
    killAll();
    process.stderr.write(
      `\ninterrupted by ${signal}: ${running.length > 0 ? `killed ${running.join(', ')}` : 'no node was running'}\n`,
    );
    if (keepLogs && workDir !== undefined) process.stderr.write(`node logs kept in ${workDir}\n`);
    process.exit(128 + number);
  });
}

/** Runs `step`, failing at once if a node exits on its own meanwhile. */
function guard<T>(step: Promise<T>): Promise<T> {
  return Promise.race([step, crashed]);
}

async function startNode(id: string, args: readonly string[]): Promise<DemoNode> {
  return DemoNode.start(id, join(workDir!, id), args, (node) => {
    nodes.push(node);
    void node.exited.then((e) => {
      if (!node.expectExit) {
        rejectCrash(new DemoFailure(`${node.id} (pid ${node.pid}) exited on its own: ${describeExit(e)}`));
      }
    });
  });
}

// ------------------------------------------------------------- helpers

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

function errorText(err: unknown): string {
  if (isMeshcacheError(err)) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

/** Polls `probe` every `intervalMs` until it gives a value or `timeoutMs` passes (then fails with its last reason). */
async function waitUntil<T>(
  what: string,
  timeoutMs: number,
  intervalMs: number,
  probe: () => Promise<{ value: T } | { pending: string }>,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let pending: string;
  for (;;) {
    try {
      const r = await probe();
      if ('value' in r) return r.value;
      pending = r.pending;
    } catch (err) {
      pending = errorText(err);
    }
    if (performance.now() >= deadline) {
      throw new DemoFailure(`${what}: not within ${secs(timeoutMs)}; last seen: ${pending}`);
    }
    await delay(intervalMs);
  }
}

interface Phase {
  done: number;
  failed: { index: number; error: string }[];
  notReached: number;
  ms: number;
}

/** Runs `op` for keys 0..count-1 with CONCURRENCY in flight, until done or PHASE_TIMEOUT_MS. */
async function runPhase(count: number, op: (i: number) => Promise<void>): Promise<Phase> {
  const started = performance.now();
  const deadline = started + PHASE_TIMEOUT_MS;
  const failed: Phase['failed'] = [];
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const i = next++;
      if (i >= count) return;
      try {
        await op(i);
        done++;
      } catch (err) {
        failed.push({ index: i, error: errorText(err) });
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { done, failed, notReached: count - done - failed.length, ms: performance.now() - started };
}

/** Polls each observer's /v1/cluster/members until it shows `victim` DEAD; resolves ms from `since` per observer (undefined: not in time). */
async function watchDead(
  victim: DemoNode,
  observers: readonly DemoNode[],
  since: number,
): Promise<{ id: string; ms: number | undefined; state: string }[]> {
  return Promise.all(
    observers.map(async (o) => {
      let state = 'unknown';
      try {
        const ms = await waitUntil(`${o.id} to mark ${victim.id} DEAD`, DEAD_TIMEOUT_MS, 50, async () => {
          const m = await getJson<MembersReply>(`${o.adminUrl}/v1/cluster/members`);
          state = m.members.find((x) => x.id === victim.id)?.state ?? 'not listed';
          return state === 'dead' ? { value: performance.now() - since } : { pending: state };
        });
        return { id: o.id, ms, state };
      } catch {
        return { id: o.id, ms: undefined, state };
      }
    }),
  );
}

interface TopologyReply {
  epoch: number;
  members: { id: string }[];
  tables: { replicationFactor: number; pending?: unknown[] }[];
}

interface RebalanceReply {
  filled: boolean;
  counters: {
    keysMoved: number;
    bytesMoved: number;
    bootstrapsCompleted: number;
    transfersCompleted: number;
  };
}

/** Waits until `members` nodes hold one epoch with that many members, no move pending, every node ready. */
async function waitSettled(members: readonly DemoNode[]): Promise<TopologyReply> {
  return waitUntil<TopologyReply>('the cluster to settle', SETTLE_TIMEOUT_MS, 100, async () => {
    const tops = await Promise.all(
      members.map((n) => getJson<TopologyReply>(`${n.adminUrl}/v1/cluster/topology`)),
    );
    const first = tops[0]!;
    if (first.members.length !== members.length) return { pending: `${first.members.length} members` };
    if (!tops.every((t) => t.epoch === first.epoch)) return { pending: 'nodes at different epochs' };
    const moving = first.tables.reduce((n, t) => n + (t.pending?.length ?? 0), 0);
    if (moving > 0) return { pending: `${moving} slot ranges still moving` };
    const ready = await Promise.all(members.map(async (n) => (await fetch(`${n.adminUrl}/readyz`)).status));
    const notReady = members.filter((_, k) => ready[k] !== 200).map((n) => n.id);
    return notReady.length > 0 ? { pending: `${notReady.join(', ')} not ready` } : { value: first };
  });
}

function portsLine(n: DemoNode): string {
  const p = n.ports;
  const port = (name: string, v: number) => `${name} :${v}`;
  return [
    `pid ${n.pid}`,
    port('grpc', p.grpcPort),
    port('admin', p.adminPort),
    port('redis', p.redisPort),
    port('gossip', p.gossipPort),
    port('replica', p.replicaPort),
    `ready in ${secs(n.readyMs)}`,
  ].join('  ');
}

/** The figures of a write or read phase: what happened, then time and rate in fixed columns. */
function phaseFigures(what: string, phase: Phase, ops: number): string {
  const reached = phase.notReached > 0 ? `, ${int(phase.notReached)} not reached` : '';
  return `${(what + reached).padEnd(48)} in ${secs(phase.ms).padStart(7)}  ${rate(ops, phase.ms).padStart(13)}`;
}

function printNodeLogs(): void {
  for (const n of nodes) {
    const lines = n.notableLines();
    if (lines.length === 0) continue;
    out(`  ${n.id}'s last warnings and errors:`);
    for (const l of lines) out(`    ${l}`);
  }
}

// ---------------------------------------------------------------- demo

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      keys: { type: 'string', default: '10000' },
      'keep-logs': { type: 'boolean', default: false },
    },
  });
  const count = Number(values.keys);
  if (!Number.isInteger(count) || count < 1)
    throw new DemoFailure(`--keys must be a positive integer, got ${values.keys}`);
  keepLogs = values['keep-logs'];
  const t0 = performance.now();
  out(
    `meshcache demo: ${NODE_IDS.length} nodes on 127.0.0.1, ${int(count)} keys written at QUORUM, ` +
      `one node killed with SIGKILL and restarted under its id, a 4th node joined under load, ` +
      `every key read back at QUORUM`,
  );
  out();
  workDir = mkdtempSync(join(tmpdir(), 'meshcache-demo-'));

  // 1. Three nodes: the first forms the cluster alone, the others join it through its gossip port.
  const first = await guard(startNode(NODE_IDS[0], []));
  out(stepLine(`start ${first.id}`, portsLine(first)));
  const others = await guard(
    Promise.all(NODE_IDS.slice(1).map((id) => startNode(id, ['--seeds', first.gossipAddress]))),
  );
  for (const n of others) out(stepLine(`start ${n.id}, seed ${first.id}`, portsLine(n)));
  const [n1, n2, n3] = [first, others[0]!, others[1]!];

  // 2. Every node holds the same committed view of three members and gives the default cache 3 copies.
  const formStarted = performance.now();
  const epoch = await guard(
    waitUntil('the cluster to form', FORM_TIMEOUT_MS, 100, async () => {
      const states = await Promise.all(
        nodes.map(async (n) => ({
          id: n.id,
          view: await getJson<ViewReply>(`${n.adminUrl}/v1/cluster/view`),
          info: await getJson<InfoReply>(`${n.adminUrl}/v1/info`),
        })),
      );
      const r = clusterFormed(states, NODE_IDS.length, CACHE, FACTOR);
      return r.ok ? { value: r.epoch } : { pending: r.reason };
    }),
  );
  out(
    stepLine(
      'cluster formed',
      `epoch ${epoch}: ${NODE_IDS.length} members on every node, cache "${CACHE}" on ${FACTOR} replicas` +
        `  (after ${secs(performance.now() - formStarted)})`,
    ),
  );

  const failures: string[] = [];
  let restarted: DemoNode | undefined;
  let joinedNode: DemoNode | undefined;
  const writer = createClient({
    url: n1.grpcAddress,
    clientName: 'meshcache-demo',
    timeoutMs: OP_TIMEOUT_MS,
  });
  const reader = createClient({
    url: n3.grpcAddress,
    clientName: 'meshcache-demo',
    timeoutMs: OP_TIMEOUT_MS,
  });
  try {
    // 3. Write every key at QUORUM through n1.
    await guard(writer.connect({ timeoutMs: OP_TIMEOUT_MS }));
    const writes = await guard(
      runPhase(count, async (i) => {
        await writer.set(demoKey(i), demoValue(i), { consistency: 'QUORUM' });
      }),
    );
    const unacked = new Set(writes.failed.map((f) => f.index));
    out(
      stepLine(
        `write ${int(count)} keys via ${n1.id}`,
        phaseFigures(
          `${int(writes.done)} acknowledged at QUORUM, ${int(writes.failed.length)} failed`,
          writes,
          writes.done,
        ),
      ),
    );

    // 4. Kill n2 (not the node the writer uses) without warning.
    n2.expectExit = true;
    const killedAt = performance.now();
    n2.signal('SIGKILL');
    const dead = watchDead(n2, [n1, n3], killedAt);
    const exit = await n2.exited;
    out(stepLine(`kill -9 ${n2.id}`, `pid ${n2.pid} ended by ${describeExit(exit)}`));

    // 5. Read every key back at QUORUM through n3, a survivor the writer did not use.
    await guard(reader.connect({ timeoutMs: OP_TIMEOUT_MS }));
    const tally = emptyTally();
    const reads = await guard(
      runPhase(count, async (i) => {
        tallyRead(tally, i, { value: await reader.get(demoKey(i), { consistency: 'QUORUM' }) });
      }),
    );
    tally.failed.push(...reads.failed);
    out(
      stepLine(
        `read ${int(count)} keys via ${n3.id}`,
        phaseFigures(
          `${int(tally.found)} read back, ${int(tally.missing.length)} missing, ${int(tally.wrong.length)} wrong` +
            (tally.failed.length > 0 ? `, ${int(tally.failed.length)} failed` : ''),
          reads,
          reads.done,
        ),
      ),
    );

    // 6. How long the survivors took to mark n2 DEAD, from the kill (the reads above did not wait for it).
    const detected = await guard(dead);
    out(
      stepLine(
        `${n2.id} marked DEAD`,
        detected
          .map((d) =>
            d.ms === undefined
              ? `${d.id}: not within ${secs(DEAD_TIMEOUT_MS)} (state ${d.state})`
              : `by ${d.id} ${secs(d.ms)}`,
          )
          .join(', ') + ' after the kill',
      ),
    );

    // What went wrong, if anything.
    const lost = tally.missing.filter((i) => !unacked.has(i));
    if (writes.failed.length > 0) {
      failures.push(`${int(writes.failed.length)} writes at QUORUM failed (keys ${keyList([...unacked])}):`);
      failures.push(...groupErrors(writes.failed.map((f) => f.error)).map((e) => `  ${e}`));
    }
    if (writes.notReached > 0) {
      failures.push(
        `${int(writes.notReached)} keys not written: the write phase ran out of ${secs(PHASE_TIMEOUT_MS)}`,
      );
    }
    if (lost.length > 0) {
      failures.push(`${int(lost.length)} acknowledged keys missing after the kill: ${keyList(lost)}`);
    }
    if (tally.missing.length > lost.length) {
      failures.push(`${int(tally.missing.length - lost.length)} keys missing whose write had failed`);
    }
    if (tally.wrong.length > 0) {
      const w = tally.wrong[0]!;
      failures.push(
        `${int(tally.wrong.length)} keys with a wrong value: ${keyList(tally.wrong.map((x) => x.index))} ` +
          `(${demoKey(w.index)} = ${JSON.stringify(w.got)}, expected ${JSON.stringify(demoValue(w.index))})`,
      );
    }
    if (tally.failed.length > 0) {
      failures.push(
        `${int(tally.failed.length)} reads at QUORUM failed (keys ${keyList(tally.failed.map((f) => f.index))}):`,
      );
      failures.push(...groupErrors(tally.failed.map((f) => f.error)).map((e) => `  ${e}`));
    }
    if (reads.notReached > 0) {
      failures.push(
        `${int(reads.notReached)} keys not read: the read phase ran out of ${secs(PHASE_TIMEOUT_MS)}`,
      );
    }
    for (const d of detected) {
      if (d.ms === undefined)
        failures.push(`${d.id} did not mark ${n2.id} DEAD within ${secs(DEAD_TIMEOUT_MS)}`);
    }

    // 7. n2 comes back under its id, empty: it bootstraps its slots from n1 and n3 before it says ready.
    const restartedAt = performance.now();
    const n2b = await guard(startNode(NODE_IDS[1], ['--seeds', n1.gossipAddress]));
    restarted = n2b;
    out(stepLine(`start ${n2b.id} again, seed ${n1.id}`, portsLine(n2b)));
    await guard(
      waitUntil(`${n2b.id} to bootstrap`, SETTLE_TIMEOUT_MS, 50, async () => {
        const ready = (await fetch(`${n2b.adminUrl}/readyz`)).status === 200;
        return ready ? { value: true } : { pending: 'not ready (filling its slots)' };
      }),
    );
    const boot = await getJson<RebalanceReply>(`${n2b.adminUrl}/v1/cluster/rebalance`);
    out(
      stepLine(
        `restart ${n2b.id} under its id`,
        `empty process bootstrapped ${int(boot.counters.keysMoved)} keys from its peers, ready after ` +
          `${secs(performance.now() - restartedAt)}`,
      ),
    );

    // 8. A 4th node joins while every key is rewritten: slots move to it and nothing acknowledged is lost.
    const latest = new Map<number, { acked: string; maybe: Set<string> }>();
    for (let i = 0; i < count; i++) {
      if (!unacked.has(i)) latest.set(i, { acked: demoValue(i), maybe: new Set() });
    }
    const joinStarted = performance.now();
    // Read by the load loop, set once the join has settled.
    const progress: { settledAt?: number } = {};
    let generation = 0;
    let rewrites = 0;
    let rewriteFailures: string[] = [];
    const load = (async () => {
      // Rounds of rewrites until the join has settled (at least one full round).
      while (progress.settledAt === undefined || generation === 0) {
        generation++;
        const g = generation;
        const round = await runPhase(count, async (i) => {
          const value = `${demoValue(i)}/${g}`;
          const entry = latest.get(i) ?? { acked: '', maybe: new Set<string>() };
          latest.set(i, entry);
          entry.maybe.add(value);
          await writer.set(demoKey(i), value, { consistency: 'QUORUM' });
          entry.acked = value;
          entry.maybe.clear();
        });
        rewrites += round.done;
        rewriteFailures = rewriteFailures.concat(round.failed.map((f) => f.error));
      }
    })();
    const n4 = await guard(startNode('n4', ['--seeds', n1.gossipAddress]));
    out(stepLine(`start n4, seed ${n1.id}`, portsLine(n4)));
    const settled = await guard(waitSettled([n1, n2b, n3, n4]));
    const settledAt = performance.now();
    progress.settledAt = settledAt;
    await guard(load);
    const joined = await getJson<RebalanceReply>(`${n4.adminUrl}/v1/cluster/rebalance`);
    out(
      stepLine(
        'n4 joins under load',
        `every move cut over after ${secs(settledAt - joinStarted)} (epoch ${settled.epoch}); ` +
          `${int(joined.counters.keysMoved)} keys moved to n4; ${int(rewrites)} rewrites meanwhile, ` +
          `${int(rewriteFailures.length)} failed`,
      ),
    );
    const joinReader = createClient({
      url: n4.grpcAddress,
      clientName: 'meshcache-demo',
      timeoutMs: OP_TIMEOUT_MS,
    });
    try {
      await guard(joinReader.connect({ timeoutMs: OP_TIMEOUT_MS }));
      const stale: number[] = [];
      const after = await guard(
        runPhase(count, async (i) => {
          const got = await joinReader.get<string>(demoKey(i), { consistency: 'QUORUM' });
          const want = latest.get(i);
          if (want === undefined) return;
          if (got !== want.acked && !(got !== undefined && want.maybe.has(got))) stale.push(i);
        }),
      );
      out(
        stepLine(
          `read ${int(count)} keys via n4`,
          phaseFigures(
            `${int(after.done - stale.length)} latest, ${int(stale.length)} stale or missing` +
              (after.failed.length > 0 ? `, ${int(after.failed.length)} failed` : ''),
            after,
            after.done,
          ),
        ),
      );
      if (stale.length > 0) {
        failures.push(
          `${int(stale.length)} keys lost their latest acknowledged value in the join: ${keyList(stale)}`,
        );
      }
      if (after.failed.length > 0 || after.notReached > 0) {
        failures.push(
          `${int(after.failed.length + after.notReached)} reads via n4 failed or were not reached`,
        );
        failures.push(...groupErrors(after.failed.map((f) => f.error)).map((e) => `  ${e}`));
      }
      if (rewriteFailures.length > 0) {
        failures.push(`${int(rewriteFailures.length)} rewrites failed during the join:`);
        failures.push(...groupErrors(rewriteFailures).map((e) => `  ${e}`));
      }
    } finally {
      await joinReader.close();
    }
    joinedNode = n4;
  } finally {
    await Promise.all([writer.close(), reader.close()]);
  }

  // 9. Stop every node gracefully (SIGTERM means restart: they keep their membership).
  const stopStarted = performance.now();
  const survivors = [n1, n3, ...(restarted ? [restarted] : []), ...(joinedNode ? [joinedNode] : [])];
  const exits = await Promise.all(survivors.map((n) => n.stop(STOP_GRACE_MS)));
  out(
    stepLine(
      `stop ${survivors.map((n) => n.id).join(', ')}`,
      `SIGTERM: ${survivors.map((n, k) => `${n.id} ${describeExit(exits[k]!)}`).join(', ')}` +
        `  (in ${secs(performance.now() - stopStarted)})`,
    ),
  );
  exits.forEach((e, k) => {
    if (e.code !== 0)
      failures.push(`${survivors[k]!.id} did not exit cleanly on SIGTERM: ${describeExit(e)}`);
  });

  out();
  const total = secs(performance.now() - t0);
  if (failures.length === 0) {
    out(
      `OK: all ${int(count)} keys written at QUORUM were read back at QUORUM after ${n2.id} was killed, ` +
        `${n2.id} came back and bootstrapped, and n4 joined under load with nothing lost (${total} in all)`,
    );
  } else {
    out(`FAILED (${total} in all):`);
    for (const f of failures) out(`  ${f}`);
    printNodeLogs();
  }
  await Promise.all(nodes.map((n) => n.closeLog()));
  if (keepLogs && workDir !== undefined) out(`node logs kept in ${workDir}`);
  removeWorkDir();
  return failures.length === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  async (err: unknown) => {
    killAll();
    out();
    out(`FAILED: ${err instanceof DemoFailure ? err.message : ((err as Error)?.stack ?? String(err))}`);
    printNodeLogs();
    await Promise.all(nodes.map((n) => n.closeLog()));
    if (keepLogs && workDir !== undefined) out(`node logs kept in ${workDir}`);
    process.exit(1);
  },
);
