/**
 * A replica dies under QUORUM load (`npm run bench:replication-kill`; `-- --json FILE`).
 *
 * Three meshcache nodes on loopback, cache `default` with 3 copies at QUORUM,
 * 10,000 preloaded keys. Clients connected to the two nodes that survive run
 * writers and readers (half each, 100-byte values); one more client (optional)
 * is connected to the victim, and its failures are reported apart. After
 * --before seconds of load the victim gets SIGKILL; the load goes on for
 * --after seconds. Reported:
 *  - the failure rate of the survivors' clients over the ops started after
 *    the kill (detection window included; goal < 2%), by error code;
 *  - how long the coordinators go on waiting on the dead replica: the time
 *    from the kill until the p99 of the survivors' ops (by start time, per
 *    100 ms window) is back within 2x the p99 before the kill, and stays so
 *    for a second; and when each survivor marks the victim DEAD (its log
 *    line, and as `/v1/cluster/members` shows it);
 *  - the per-100 ms timeline around the kill: ops completed, ops failed, p99.
 * A worker pauses --error-pause-ms (10) after a failed call (as a client
 * backing off would), so fast failures do not flood the rate.
 *
 * Options: --before S (5), --after S (10), --warmup S (1), --concurrency N per
 * survivor client (32), --victim-concurrency N (8; 0 = no victim client),
 * --keys N (10000), --value-bytes N (100), --error-pause-ms N (10), --json FILE.
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { createClient, type MeshcacheClient, rawSerializer } from '@meshcache/client';
import { arg, type BenchNode, getJson, percentile, sleep, table } from '../membership/benchNodes.js';
import { type CacheSpec, errorCode, int, median, ms, rng, startReplicatedCluster } from './common.js';

const BEFORE_MS = Number(arg('before', '5')) * 1000;
const AFTER_MS = Number(arg('after', '10')) * 1000;
const WARMUP_MS = Number(arg('warmup', '1')) * 1000;
const CONCURRENCY = Number(arg('concurrency', '32'));
const VICTIM_CONCURRENCY = Number(arg('victim-concurrency', '8'));
const KEYS = Number(arg('keys', '10000'));
const VALUE_BYTES = Number(arg('value-bytes', '100'));
const ERROR_PAUSE_MS = Number(arg('error-pause-ms', '10'));
const JSON_FILE = arg('json', '');
const NODES = 3;
const WINDOW_MS = 100;
/** p99 per window counts as recovered once this many windows in a row are within 2x the pre-kill p99. */
const STABLE_WINDOWS = 10;

const CACHES: CacheSpec[] = [{ name: 'default', replicationFactor: 3, defaultConsistency: 'QUORUM' }];

const SURVIVOR = 0;
const VICTIM = 1;

/** Every call, in parallel arrays: start and end (ms since the load started), who, what, how it ended. */
class OpLog {
  start: number[] = [];
  end: number[] = [];
  group: number[] = [];
  isSet: boolean[] = [];
  code: (string | undefined)[] = [];

  add(start: number, end: number, group: number, isSet: boolean, code: string | undefined): void {
    this.start.push(start);
    this.end.push(end);
    this.group.push(group);
    this.isSet.push(isSet);
    this.code.push(code);
  }

  get length(): number {
    return this.start.length;
  }
}

interface Window {
  /** ms from the kill to the window's start. */
  t: number;
  /** Survivor ops completed in the window (ok / failed), and the p99 (ms) of those started in it. */
  completed: number;
  failed: number;
  started: number;
  p99Ms: number;
}

interface MembersReply {
  members: { id: string; state: string }[];
}

async function main(): Promise<void> {
  const loadBefore = loadavg();
  console.log(
    `bench:replication-kill: ${NODES} nodes, RF 3 at QUORUM, ${KEYS} keys, ${VALUE_BYTES}-byte values; ` +
      `2 survivor clients x ${CONCURRENCY} in flight (half writers, half readers)` +
      `${VICTIM_CONCURRENCY > 0 ? `, 1 victim client x ${VICTIM_CONCURRENCY}` : ''}; ` +
      `kill -9 after ${BEFORE_MS / 1000} s (+${WARMUP_MS / 1000} s warm-up), then ${AFTER_MS / 1000} s; node ${process.version}`,
  );
  const nodes = await startReplicatedCluster(NODES, `kill${process.pid}`, CACHES);
  const victim = nodes[NODES - 1]!;
  const survivors = nodes.slice(0, NODES - 1);
  const mk = (node: BenchNode, name: string) =>
    createClient({
      url: `127.0.0.1:${node.grpcPort}`,
      clientName: name,
      serializer: rawSerializer,
      tracing: false,
    });
  const clients: { client: MeshcacheClient; group: number; concurrency: number }[] = survivors.map(
    (n, i) => ({
      client: mk(n, `bench-kill-survivor-${i}`),
      group: SURVIVOR,
      concurrency: CONCURRENCY,
    }),
  );
  if (VICTIM_CONCURRENCY > 0) {
    clients.push({ client: mk(victim, 'bench-kill-victim'), group: VICTIM, concurrency: VICTIM_CONCURRENCY });
  }

  const log = new OpLog();
  let killAt = NaN;
  let killWall = NaN;
  const deadSeenApi = new Map<string, number>();
  const suspectSeenApi = new Map<string, number>();
  try {
    await Promise.all(clients.map((c) => c.client.connect()));
    const value = Buffer.alloc(VALUE_BYTES, 'v');
    const keys = Array.from({ length: KEYS }, (_, i) => `kb:${i.toString().padStart(8, '0')}`);
    for (let i = 0; i < keys.length; i += 250) {
      await clients[0]!.client.setMany(
        keys.slice(i, i + 250).map((key) => ({ key, value })),
        { consistency: 'ALL', timeoutMs: 30_000 },
      );
    }

    let stop = false;
    const t0 = performance.now();
    const worker = async (client: MeshcacheClient, group: number, isSet: boolean, seed: number) => {
      const random = rng(seed);
      while (!stop) {
        const key = keys[(random() * keys.length) | 0]!;
        const started = performance.now();
        let code: string | undefined;
        try {
          if (isSet) await client.set(key, value);
          else await client.get(key);
        } catch (err) {
          code = errorCode(err);
        }
        log.add(started - t0, performance.now() - t0, group, isSet, code);
        if (code !== undefined) await sleep(ERROR_PAUSE_MS);
      }
    };
    const workers: Promise<void>[] = [];
    let seed = 1;
    for (const c of clients) {
      for (let i = 0; i < c.concurrency; i++) {
        workers.push(worker(c.client, c.group, i % 2 === 0, (0x9e3779b9 ^ seed++) >>> 0));
      }
    }

    await sleep(WARMUP_MS + BEFORE_MS);
    killWall = Date.now();
    killAt = performance.now() - t0;
    victim.kill('SIGKILL');
    process.stderr.write(`  killed ${victim.id} at +${((killAt - WARMUP_MS) / 1000).toFixed(2)} s\n`);

    // Watch the survivors' member lists until both show the victim DEAD (or the run ends).
    const watch = (async () => {
      while (!stop && survivors.some((s) => !deadSeenApi.has(s.id))) {
        await Promise.all(
          survivors.map(async (s) => {
            if (deadSeenApi.has(s.id)) return;
            try {
              const m = await getJson<MembersReply>(`${s.adminUrl}/v1/cluster/members`);
              const state = m.members.find((x) => x.id === victim.id)?.state;
              const at = performance.now() - t0 - killAt;
              if (state === 'suspect' && !suspectSeenApi.has(s.id)) suspectSeenApi.set(s.id, at);
              if (state === 'dead') deadSeenApi.set(s.id, at);
            } catch {
              // busy: try again
            }
          }),
        );
        await sleep(50);
      }
    })();
    await sleep(AFTER_MS);
    stop = true;
    await watch;
    await Promise.all(workers);
  } finally {
    await Promise.all(clients.map((c) => c.client.close()));
    await Promise.all(nodes.map((n) => n.stop()));
  }
  const loadAfter = loadavg();

  // ---------------------------------------------------------------- figures
  const measuredFrom = WARMUP_MS;
  const endAt = killAt + AFTER_MS;
  const idx = (pred: (i: number) => boolean) => {
    const out: number[] = [];
    for (let i = 0; i < log.length; i++) if (pred(i)) out.push(i);
    return out;
  };
  const latency = (i: number) => log.end[i]! - log.start[i]!;
  const sortedLatencies = (ids: number[]) => ids.map(latency).sort((a, b) => a - b);

  const preKill = idx(
    (i) => log.group[i] === SURVIVOR && log.start[i]! >= measuredFrom && log.end[i]! < killAt,
  );
  const preSorted = sortedLatencies(preKill);
  const baselineP99 = percentile(preSorted, 99);
  const baselineP50 = percentile(preSorted, 50);
  const preOpsPerSec = preKill.length / ((killAt - measuredFrom) / 1000);
  const preFailed = preKill.filter((i) => log.code[i] !== undefined).length;

  const failureSummary = (group: number) => {
    const after = idx((i) => log.group[i] === group && log.start[i]! >= killAt && log.start[i]! < endAt);
    const byCode: Record<string, number> = {};
    let failed = 0;
    let sets = 0;
    let failedSets = 0;
    for (const i of after) {
      if (log.isSet[i]) sets++;
      const code = log.code[i];
      if (code === undefined) continue;
      failed++;
      if (log.isSet[i]) failedSets++;
      byCode[code] = (byCode[code] ?? 0) + 1;
    }
    return {
      started: after.length,
      failed,
      rate: after.length === 0 ? NaN : failed / after.length,
      byCode,
      failedSets,
      failedGets: failed - failedSets,
      sets,
      gets: after.length - sets,
    };
  };
  const survivorsAfter = failureSummary(SURVIVOR);
  const inFlightAtKill = idx(
    (i) => log.group[i] === SURVIVOR && log.start[i]! < killAt && log.end[i]! >= killAt,
  );
  const inFlightFailed = inFlightAtKill.filter((i) => log.code[i] !== undefined).length;
  const victimAfter = failureSummary(VICTIM);

  // 100 ms windows from 2 s before the kill to the end of the run.
  const firstWindow = -Math.min(20, Math.floor((killAt - measuredFrom) / WINDOW_MS));
  const lastWindow = Math.floor(AFTER_MS / WINDOW_MS) - 1;
  const windows: Window[] = [];
  const byStart = new Map<number, number[]>();
  const completedIn = new Map<number, [number, number]>();
  for (let i = 0; i < log.length; i++) {
    if (log.group[i] !== SURVIVOR) continue;
    const ws = Math.floor((log.start[i]! - killAt) / WINDOW_MS);
    if (ws >= firstWindow && ws <= lastWindow) {
      let arr = byStart.get(ws);
      if (arr === undefined) byStart.set(ws, (arr = []));
      arr.push(latency(i));
    }
    const we = Math.floor((log.end[i]! - killAt) / WINDOW_MS);
    if (we >= firstWindow && we <= lastWindow) {
      const c = completedIn.get(we) ?? [0, 0];
      if (log.code[i] === undefined) c[0]++;
      else c[1]++;
      completedIn.set(we, c);
    }
  }
  for (let w = firstWindow; w <= lastWindow; w++) {
    const lat = (byStart.get(w) ?? []).sort((a, b) => a - b);
    const c = completedIn.get(w) ?? [0, 0];
    windows.push({
      t: w * WINDOW_MS,
      completed: c[0] + c[1],
      failed: c[1],
      started: lat.length,
      p99Ms: percentile(lat, 99),
    });
  }
  const after = windows.filter((w) => w.t >= 0);
  // A window in which no op started is neutral: ops blocked on the dead replica count in the window they started in.
  const within = (w: Window) => w.started === 0 || w.p99Ms <= 2 * baselineP99;
  let recoveredAt = NaN;
  for (let k = 0; k + STABLE_WINDOWS <= after.length; k++) {
    if (after.slice(k, k + STABLE_WINDOWS).every(within)) {
      recoveredAt = after[k]!.t;
      break;
    }
  }
  const lastOver = [...after].reverse().find((w) => !within(w));
  const worst = after.reduce((a, b) => (b.started > 0 && !(b.p99Ms <= a.p99Ms) ? b : a), after[0]!);
  const stalls = after.filter((w) => w.completed === 0).length;

  const deadFromLogs = survivors.map((s) => {
    const e = s.events.find(
      (x) =>
        x.time >= killWall - 5 &&
        x.msg === 'member state' &&
        x.entry['member'] === victim.id &&
        x.entry['state'] === 'dead',
    );
    return e === undefined ? NaN : e.time - killWall;
  });
  const deadFromApi = survivors.map((s) => deadSeenApi.get(s.id) ?? NaN);
  const suspectFromApi = survivors.map((s) => suspectSeenApi.get(s.id) ?? NaN);

  // ---------------------------------------------------------------- report
  console.log(
    `\nbefore the kill (${((killAt - measuredFrom) / 1000).toFixed(1)} s, survivor clients): ` +
      `${int(preOpsPerSec)} ops/s, p50 ${ms(baselineP50)} ms, p99 ${ms(baselineP99)} ms, ${preFailed} failed`,
  );
  const codes = (byCode: Record<string, number>) =>
    Object.entries(byCode)
      .sort((a, b) => b[1] - a[1])
      .map(([c, n]) => `${c} ${n}`)
      .join(', ') || '-';
  console.log(
    `\nfailures among ops started after the kill (${AFTER_MS / 1000} s, detection window included)`,
  );
  const failRows = [
    [
      'survivor clients (goal < 2%)',
      int(survivorsAfter.started),
      int(survivorsAfter.failed),
      `${(100 * survivorsAfter.rate).toFixed(3)}%`,
      `${survivorsAfter.failedGets} / ${survivorsAfter.failedSets}`,
      codes(survivorsAfter.byCode),
      survivorsAfter.rate < 0.02 ? 'met' : 'NOT met',
    ],
  ];
  if (VICTIM_CONCURRENCY > 0) {
    failRows.push([
      'victim client (apart)',
      int(victimAfter.started),
      int(victimAfter.failed),
      `${(100 * victimAfter.rate).toFixed(1)}%`,
      `${victimAfter.failedGets} / ${victimAfter.failedSets}`,
      codes(victimAfter.byCode),
      '',
    ]);
  }
  console.log(
    table(['clients', 'ops started', 'failed', 'rate', 'gets / sets failed', 'by code', 'goal'], failRows),
  );
  console.log(
    `(survivor clients' ops in flight at the kill, not counted above: ${inFlightAtKill.length}, of which ${inFlightFailed} failed)`,
  );

  const fmtT = (x: number) => (Number.isFinite(x) ? `${int(x)} ms` : 'not within the run');
  console.log('\nafter the kill (times from the kill)');
  console.log(
    table(
      ['what', 'time'],
      [
        [
          `p99 per 100 ms back within 2x pre-kill (${ms(2 * baselineP99)} ms) for ${STABLE_WINDOWS} windows`,
          fmtT(recoveredAt),
        ],
        [
          'last window over 2x pre-kill p99',
          lastOver === undefined ? 'none' : `${int(lastOver.t)} ms (p99 ${ms(lastOver.p99Ms)} ms)`,
        ],
        ['worst window p99', `${ms(worst.p99Ms)} ms at ${int(worst.t)} ms`],
        ['windows with no op completed', String(stalls)],
        ...survivors.map((s, i) => [`${s.id} logs ${victim.id} DEAD`, fmtT(deadFromLogs[i]!)]),
        ...survivors.map((s, i) => [
          `${s.id} /v1/cluster/members shows it suspect / DEAD (50 ms polls)`,
          `${fmtT(suspectFromApi[i]!)} / ${fmtT(deadFromApi[i]!)}`,
        ]),
      ],
    ),
  );

  console.log(
    '\ntimeline of the survivor clients per 100 ms window (row = 1 s from the kill; each cell: ' +
      'ops completed, "/failed" when any failed, p99 ms of ops started in the window)',
  );
  const rows: string[][] = [];
  for (let w = 0; w < windows.length; w += 10) {
    const slice = windows.slice(w, w + 10);
    rows.push([
      `${slice[0]!.t >= 0 ? '+' : ''}${(slice[0]!.t / 1000).toFixed(1)} s`,
      ...slice.map((x) => `${x.completed}${x.failed > 0 ? `/${x.failed}` : ''} ${ms(x.p99Ms)}`),
    ]);
  }
  console.log(table(['from kill', ...Array.from({ length: 10 }, (_, i) => `+${i * 100}`)], rows));
  console.log(
    `\nload average (1/5/15 min): ${loadBefore.map((x) => x.toFixed(2)).join(' ')} before, ` +
      `${loadAfter.map((x) => x.toFixed(2)).join(' ')} after (2 cores shared by 3 nodes, the clients and anything else)`,
  );

  if (JSON_FILE !== '') {
    writeFileSync(
      JSON_FILE,
      `${JSON.stringify(
        {
          benchmark: 'replication-kill',
          nodes: NODES,
          caches: CACHES,
          victim: victim.id,
          survivors: survivors.map((s) => s.id),
          concurrencyPerSurvivorClient: CONCURRENCY,
          victimConcurrency: VICTIM_CONCURRENCY,
          keys: KEYS,
          valueBytes: VALUE_BYTES,
          errorPauseMs: ERROR_PAUSE_MS,
          warmupMs: WARMUP_MS,
          beforeMs: BEFORE_MS,
          afterMs: AFTER_MS,
          nodeVersion: process.version,
          loadAverageBefore: loadBefore,
          loadAverageAfter: loadAfter,
          preKill: {
            opsPerSec: preOpsPerSec,
            p50Ms: baselineP50,
            p99Ms: baselineP99,
            failed: preFailed,
          },
          survivorsAfterKill: survivorsAfter,
          survivorsInFlightAtKill: { ops: inFlightAtKill.length, failed: inFlightFailed },
          victimClientAfterKill: VICTIM_CONCURRENCY > 0 ? victimAfter : undefined,
          goalFailureRateBelow: 0.02,
          goalMet: survivorsAfter.rate < 0.02,
          p99RecoveredMs: Number.isFinite(recoveredAt) ? recoveredAt : null,
          lastWindowOver2xMs: lastOver?.t ?? null,
          worstWindow: worst,
          deadLoggedMs: Object.fromEntries(survivors.map((s, i) => [s.id, deadFromLogs[i]])),
          deadSeenApiMs: Object.fromEntries(survivors.map((s, i) => [s.id, deadFromApi[i]])),
          suspectSeenApiMs: Object.fromEntries(survivors.map((s, i) => [s.id, suspectFromApi[i]])),
          medianWindowOpsBefore: median(windows.filter((w) => w.t < 0).map((w) => w.completed)),
          medianWindowOpsAfter: median(after.map((w) => w.completed)),
          windowMs: WINDOW_MS,
          windows,
        },
        null,
        2,
      )}\n`,
    );
    console.log(`figures written to ${JSON_FILE}`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
