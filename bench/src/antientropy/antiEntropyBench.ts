/**
 * Anti-entropy's cost on a real cluster (`npm run bench:anti-entropy`;
 * `-- --quick` for 20k keys and shorter windows, `-- --json FILE` for the
 * figures).
 *
 * Three meshcache nodes on loopback, cache `default` (RF 3: every node holds
 * every slot), anti-entropy on with --min-interval-ms (1000) and
 * --max-interval-ms (2000), so clean rounds run about every 1.6-2 s per pair.
 * --keys (100,000) keys of --value-bytes (100) are written at ALL. Phases:
 *  1. clean: once every node is ready, the replicas' digests agree and
 *     every pair has had a round since, --window seconds (30) of rounds
 *     between replicas that already match;
 *  2. one difference: a newer value of one key written into one node's store
 *     alone (test-only POST /v1/test/write-local), until every replica holds
 *     it; the rounds of that phase are the cost of finding and repairing it.
 * Reported from the nodes' anti-entropy counters (/v1/info): rounds, slot
 * ranges compared, message bytes (each node counts what it sent: requests
 * of the rounds it ran, answers of the rounds it served; their sum is every
 * byte once), items digested, and the rounds' durations (each pair's last).
 */
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createClient, rawSerializer } from '@meshcache/client';
import { arg, type BenchNode, getJson, sleep, table, waitFor } from '../membership/benchNodes.js';
import { startReplicatedCluster } from '../replication/common.js';

const QUICK = process.argv.includes('--quick');
const KEYS = Number(arg('keys', QUICK ? '20000' : '100000'));
const VALUE_BYTES = Number(arg('value-bytes', '100'));
const WINDOW_MS = Number(arg('window', QUICK ? '10' : '30')) * 1000;
const MIN_INTERVAL_MS = Number(arg('min-interval-ms', '1000'));
const MAX_INTERVAL_MS = Number(arg('max-interval-ms', '2000'));
const JSON_FILE = arg('json', '');

interface Stats {
  rounds: number;
  roundsClean: number;
  roundsFailed: number;
  roundsServed: number;
  rangesCompared: number;
  differences: number;
  keysRepaired: number;
  bytesSent: number;
  bytesReceived: number;
  itemsDigested: number;
}

interface Info {
  antiEntropy: {
    stats: Stats;
    loops: { peer: string; last: { durationMs: number; outcome: string; slots: number } | null }[];
  };
}

const info = (n: BenchNode) => getJson<Info>(`${n.adminUrl}/v1/info`);

async function totals(nodes: readonly BenchNode[]): Promise<Stats> {
  const all = await Promise.all(nodes.map(info));
  const sum = { ...all[0]!.antiEntropy.stats };
  for (const i of all.slice(1)) {
    for (const k of Object.keys(sum) as (keyof Stats)[]) sum[k] += i.antiEntropy.stats[k];
  }
  return sum;
}

function minus(a: Stats, b: Stats): Stats {
  const out = { ...a };
  for (const k of Object.keys(out) as (keyof Stats)[]) out[k] -= b[k];
  return out;
}

async function durations(nodes: readonly BenchNode[]): Promise<number[]> {
  const all = await Promise.all(nodes.map(info));
  return all.flatMap((i) => i.antiEntropy.loops.flatMap((l) => (l.last?.slots ? [l.last.durationMs] : [])));
}

async function digestsAgree(nodes: readonly BenchNode[]): Promise<boolean> {
  const d = await Promise.all(
    nodes.map((n) => getJson<{ slots: Record<string, string> }>(`${n.adminUrl}/v1/caches/default/digests`)),
  );
  const first = JSON.stringify(d[0]!.slots);
  return d.every((x) => JSON.stringify(x.slots) === first);
}

function perRound(s: Stats) {
  const rounds = s.rounds;
  return {
    rounds,
    roundsClean: s.roundsClean,
    roundsFailed: s.roundsFailed,
    rangesCompared: s.rangesCompared,
    bytes: s.bytesSent,
    bytesPerRound: rounds > 0 ? s.bytesSent / rounds : NaN,
    bytesPerRange: s.rangesCompared > 0 ? s.bytesSent / s.rangesCompared : NaN,
    itemsDigestedPerRound: rounds > 0 ? s.itemsDigested / rounds : NaN,
    differences: s.differences,
    keysRepaired: s.keysRepaired,
  };
}

async function main(): Promise<void> {
  const nodes = await startReplicatedCluster(
    3,
    `ae${process.pid}`,
    [{ name: 'default', replicationFactor: 3, defaultConsistency: 'ALL' }],
    [
      '--anti-entropy',
      'true',
      '--anti-entropy-min-interval-ms',
      String(MIN_INTERVAL_MS),
      '--anti-entropy-max-interval-ms',
      String(MAX_INTERVAL_MS),
      '--test-write-local',
      'true',
      '--read-repair-chance',
      '0',
    ],
  );
  const client = createClient({ url: `127.0.0.1:${nodes[0]!.grpcPort}`, serializer: rawSerializer });
  try {
    await waitFor(
      async () => {
        const codes = await Promise.all(nodes.map(async (n) => (await fetch(`${n.adminUrl}/readyz`)).status));
        return codes.every((c) => c === 200);
      },
      60_000,
      'every node ready',
    );
    const value = Buffer.alloc(VALUE_BYTES, 'v');
    const loadStart = performance.now();
    for (let i = 0; i < KEYS; i += 1000) {
      const entries = [];
      for (let k = i; k < Math.min(KEYS, i + 1000); k++) entries.push({ key: `key:${k}`, value });
      await client.setMany(entries, { consistency: 'ALL' });
    }
    console.log(
      `loaded ${KEYS} keys of ${VALUE_BYTES} bytes at ALL in ${Math.round(performance.now() - loadStart)} ms`,
    );
    await waitFor(() => digestsAgree(nodes), 60_000, 'the replicas to agree');

    // Rounds that began while the load was still arriving may yet find (and
    // exchange) its last writes: let every pair finish one that began after.
    await sleep(2 * MAX_INTERVAL_MS + 1000);
    // Clean: the replicas already match.
    const before = await totals(nodes);
    await sleep(WINDOW_MS);
    const clean = perRound(minus(await totals(nodes), before));
    const cleanDurations = await durations(nodes);

    // One difference: a newer value of one key on one node alone.
    const beforeDiff = await totals(nodes);
    const key = 'key:7';
    const status = await fetch(`${nodes[2]!.adminUrl}/v1/test/write-local`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ cache: 'default', key, value: 'x'.repeat(VALUE_BYTES) }),
    });
    if (status.status !== 200) throw new Error(`write-local: HTTP ${status.status}`);
    const injected = performance.now();
    await waitFor(
      async () => (await totals(nodes)).keysRepaired - beforeDiff.keysRepaired >= 2,
      30_000,
      'the repair',
    );
    const repairMs = performance.now() - injected;
    // Let the rounds that found it finish being counted (a repair is counted before its round ends).
    await sleep(MAX_INTERVAL_MS + 500);
    const diff = perRound(minus(await totals(nodes), beforeDiff));
    const repairedRoundBytes = diff.bytes - diff.roundsClean * clean.bytesPerRound;

    const fmt = (v: number, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');
    console.log(
      table(
        [
          'phase',
          'rounds',
          'clean',
          'failed',
          'ranges',
          'bytes',
          'bytes/round',
          'bytes/range',
          'items digested/round (both sides)',
          'repaired',
        ],
        [
          [
            `clean (${WINDOW_MS / 1000} s)`,
            clean.rounds,
            clean.roundsClean,
            clean.roundsFailed,
            clean.rangesCompared,
            clean.bytes,
            fmt(clean.bytesPerRound),
            fmt(clean.bytesPerRange, 3),
            fmt(clean.itemsDigestedPerRound, 0),
            clean.keysRepaired,
          ],
          [
            'one difference',
            diff.rounds,
            diff.roundsClean,
            diff.roundsFailed,
            diff.rangesCompared,
            diff.bytes,
            fmt(diff.bytesPerRound),
            fmt(diff.bytesPerRange, 3),
            fmt(diff.itemsDigestedPerRound, 0),
            diff.keysRepaired,
          ],
        ],
      ),
    );
    const sorted = [...cleanDurations].sort((a, b) => a - b);
    console.log(
      `clean round durations (last per pair, ms): ${sorted.join(', ')}; ` +
        `the difference reached every replica ${Math.round(repairMs)} ms after it was written; ` +
        `bytes of the ${diff.rounds - diff.roundsClean} repairing round(s), less clean rounds' share: ${fmt(repairedRoundBytes, 0)}`,
    );
    if (JSON_FILE !== '') {
      writeFileSync(
        JSON_FILE,
        JSON.stringify(
          {
            keys: KEYS,
            valueBytes: VALUE_BYTES,
            minIntervalMs: MIN_INTERVAL_MS,
            maxIntervalMs: MAX_INTERVAL_MS,
            clean,
            cleanRoundMs: sorted,
            oneDifference: { ...diff, repairMs, repairedRoundBytes },
          },
          null,
          2,
        ),
      );
    }
  } finally {
    await client.close();
    await Promise.all(nodes.map((n) => n.stop()));
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
