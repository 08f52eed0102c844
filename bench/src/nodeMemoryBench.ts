/**
 * Node-level memory benchmark (`npm run bench:node-memory`; `-- --json FILE`
 * also writes the figures). The issue's requirement, end to end: "with a
 * 256 MiB budget and 2M inserts of 100-byte values, the process RSS stays
 * under 1.5x the budget and evictions are counted".
 *
 * It starts a real meshcache-node process (LocalNodeProcess: the built
 * node/dist/bin/meshcache-node.js on ephemeral loopback ports) serving one
 * cache `default` with the budget, fills it through the real client
 * (`createClient` + `setMany` in batches, a bounded number in flight) with
 * distinct 16-byte keys and 100-byte values, and reads the node's own figures
 * from its admin `/metrics`: process_resident_memory_bytes (sampled during
 * the fill for the peak), meshcache_cache_keys / _bytes / _max_bytes,
 * meshcache_evictions_total and the nodejs_heap_* gauges. On Linux it also
 * reads the kernel's peak RSS of the node (VmHWM in /proc/PID/status), which
 * sampling cannot miss. Then it stops the node with SIGTERM and checks it
 * exits 0.
 *
 * Options: --budget-mib N (256), --inserts N (2000000), --batch N entries per
 * setMany (500), --in-flight N setMany calls (8), --sample-ms N (200),
 * --v8-flags "..." (V8 flags for the node process, default the ones it
 * ships with, NODE_V8_FLAGS; --v8-flags "" measures V8's own defaults),
 * --node-options "..." (NODE_OPTIONS for the node process only), --json FILE.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createClient, rawSerializer, type MeshcacheClient, type SetManyEntry } from '@meshcache/client';
import { LocalNodeProcess, NODE_V8_FLAGS } from '@meshcache/operator';

const MiB = 1024 * 1024;
const KEY_BYTES = 16;
const VALUE_BYTES = 100;
const RSS_GOAL_RATIO = 1.5;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}

function positiveInt(name: string, fallback: string): number {
  const n = Number(arg(name, fallback));
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer`);
  return n;
}

const budgetMiB = positiveInt('budget-mib', '256');
const inserts = positiveInt('inserts', '2000000');
const batch = positiveInt('batch', '500');
const inFlight = positiveInt('in-flight', '8');
const sampleMs = positiveInt('sample-ms', '200');
const nodeOptions = arg('node-options', '');
const v8Flags = arg('v8-flags', NODE_V8_FLAGS.join(' '))
  .split(' ')
  .filter((f) => f !== '');
const jsonFile = arg('json', '');
const budget = budgetMiB * MiB;

/** One Prometheus text exposition, as `name -> [{labels, value}]`. */
type Samples = Map<string, Array<{ labels: Record<string, string>; value: number }>>;

function parseMetrics(text: string): Samples {
  const out: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]!] = l[2]!;
    let list = out.get(m[1]!);
    if (!list) out.set(m[1]!, (list = []));
    list.push({ labels, value: Number(m[3]) });
  }
  return out;
}

/** The value of a metric (of the cache `default` when it has a cache label), or undefined. */
function metric(samples: Samples, name: string): number | undefined {
  const list = samples.get(name);
  if (!list) return undefined;
  const own = list.find((s) => s.labels['cache'] === undefined || s.labels['cache'] === 'default');
  return own?.value;
}

async function scrape(adminUrl: string): Promise<Samples> {
  const res = await fetch(`${adminUrl}/metrics`, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`GET /metrics: HTTP ${res.status}`);
  return parseMetrics(await res.text());
}

/**
 * The pid of our child process running meshcache-node (LocalNodeProcess keeps
 * its ChildProcess private), found through /proc; undefined off Linux.
 */
function nodePid(): number | undefined {
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        // Fields after the parenthesised command: state, ppid, ...
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid !== process.pid) continue;
        if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('meshcache-node')) return Number(entry);
      } catch {
        // the process went away
      }
    }
  } catch {
    // no /proc
  }
  return undefined;
}

/**
 * From /proc/PID/status, in bytes: VmRSS, VmHWM (peak RSS), and RSS split into
 * anonymous memory and file-backed pages (the node binary's code, mostly).
 */
function procRss(
  pid: number | undefined,
): { rss: number; hwm: number; anon: number; file: number } | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string): number =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)![1]) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM'), anon: kb('RssAnon'), file: kb('RssFile') };
  } catch {
    return undefined;
  }
}

const mib = (b: number | undefined): string => (b === undefined ? 'n/a' : `${(b / MiB).toFixed(1)} MiB`);

async function main(): Promise<number> {
  console.log(
    `node memory benchmark: node ${process.version}, budget ${budgetMiB} MiB, ${inserts} inserts of ` +
      `${KEY_BYTES} B keys and ${VALUE_BYTES} B values, setMany of ${batch}, ${inFlight} in flight, ` +
      `node V8 flags: ${v8Flags.length > 0 ? v8Flags.join(' ') : "none (V8's defaults)"}` +
      (nodeOptions ? `, node NODE_OPTIONS="${nodeOptions}"` : ''),
  );
  const savedNodeOptions = process.env['NODE_OPTIONS'];
  if (nodeOptions) process.env['NODE_OPTIONS'] = nodeOptions; // inherited by the node process only
  let node: LocalNodeProcess;
  try {
    node = await LocalNodeProcess.start({
      id: 'node-memory-bench',
      args: ['--caches', `[{name: default, maxMemoryBytes: ${budgetMiB}Mi}]`],
      v8Flags,
    });
  } finally {
    if (savedNodeOptions === undefined) delete process.env['NODE_OPTIONS'];
    else process.env['NODE_OPTIONS'] = savedNodeOptions;
  }
  const pid = nodePid();
  // Never leave the node behind: stop it if this process is interrupted, and
  // keep going when stdout goes away (`| head`) rather than die on EPIPE.
  process.stdout.on('error', () => {});
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void node.stop().finally(() => process.exit(130));
    });
  }
  let client: MeshcacheClient | undefined;
  let sampler: ReturnType<typeof setInterval> | undefined;
  let exitCode: number | null;
  try {
    client = createClient({
      url: node.grpcAddress,
      clientName: 'node-memory-bench',
      serializer: rawSerializer,
      timeoutMs: 30_000,
    });
    await client.connect({ timeoutMs: 10_000 });
    const start = await scrape(node.adminUrl);
    const rssAtStart = metric(start, 'process_resident_memory_bytes')!;
    console.log(`  node ${node.id} (pid ${pid ?? '?'}) ready, RSS before the fill ${mib(rssAtStart)}`);

    // Sample RSS from /metrics while filling (one scrape at a time).
    let peakSampled = rssAtStart;
    let lastRss = rssAtStart;
    let samples = 0;
    let scraping = false;
    let sampleError: unknown;
    sampler = setInterval(() => {
      if (scraping) return;
      scraping = true;
      scrape(node.adminUrl).then(
        (s) => {
          lastRss = metric(s, 'process_resident_memory_bytes') ?? lastRss;
          peakSampled = Math.max(peakSampled, lastRss);
          samples++;
          scraping = false;
        },
        (err: unknown) => {
          sampleError = err;
          scraping = false;
        },
      );
    }, sampleMs);

    // The fill: workers take the next batch of key numbers until all are sent.
    let next = 0;
    let acknowledged = 0;
    let nextReport = inserts / 10;
    const started = performance.now();
    const worker = async (): Promise<void> => {
      while (next < inserts) {
        const from = next;
        const n = Math.min(batch, inserts - from);
        next += n;
        const keys = Buffer.allocUnsafe(n * KEY_BYTES);
        const values = Buffer.allocUnsafe(n * VALUE_BYTES);
        const entries = new Array<SetManyEntry<Buffer>>(n);
        for (let j = 0; j < n; j++) {
          const i = from + j;
          keys.write(`key:${i.toString(36).padStart(KEY_BYTES - 4, '0')}`, j * KEY_BYTES, 'latin1');
          values.fill(97 + (i % 26), j * VALUE_BYTES, (j + 1) * VALUE_BYTES);
          entries[j] = {
            key: keys.subarray(j * KEY_BYTES, (j + 1) * KEY_BYTES),
            value: values.subarray(j * VALUE_BYTES, (j + 1) * VALUE_BYTES),
          };
        }
        const written = await client!.setMany(entries);
        acknowledged += written; // not `+= await`: that reads the total before the await
        if (acknowledged >= nextReport) {
          nextReport += inserts / 10;
          const s = (performance.now() - started) / 1000;
          console.log(
            `  fill ${acknowledged}/${inserts} (${Math.round((acknowledged / inserts) * 100)}%), ` +
              `${Math.round(acknowledged / s / 1000)}k sets/s, RSS ${mib(lastRss)} (peak sampled ${mib(peakSampled)})`,
          );
        }
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    const fillSeconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    if (sampleError) console.log(`  (an RSS sample failed: ${(sampleError as Error).message})`);

    const end = await scrape(node.adminUrl);
    const rssEnd = metric(end, 'process_resident_memory_bytes')!;
    peakSampled = Math.max(peakSampled, rssEnd);
    const kernel = procRss(pid);
    const peak = Math.max(peakSampled, kernel?.hwm ?? 0);
    const keysHeld = metric(end, 'meshcache_cache_keys') ?? NaN;
    const evictions = metric(end, 'meshcache_evictions_total') ?? NaN;
    const usedBytes = metric(end, 'meshcache_cache_bytes') ?? NaN;
    const maxBytes = metric(end, 'meshcache_cache_max_bytes') ?? NaN;
    const heapUsed = metric(end, 'nodejs_heap_size_used_bytes');
    const heapTotal = metric(end, 'nodejs_heap_size_total_bytes');
    const external = metric(end, 'nodejs_external_memory_bytes');
    const spaces = Object.fromEntries(
      (end.get('nodejs_heap_space_size_total_bytes') ?? [])
        .filter((s) => s.value > 0)
        .map((s) => [s.labels['space']!, s.value]),
    );
    const otherSpaces = Object.entries(spaces)
      .filter(([space]) => space !== 'new' && space !== 'old')
      .reduce((sum, [, v]) => sum + v, 0);
    const goalMet = peak < budget * RSS_GOAL_RATIO && evictions > 0;

    const rows: Array<[string, string]> = [
      ['budget (meshcache_cache_max_bytes)', `${mib(budget)} (${mib(maxBytes)})`],
      ['inserts (acknowledged)', `${inserts} (${acknowledged})`],
      ['fill time, sets/s', `${fillSeconds.toFixed(1)} s, ${Math.round(acknowledged / fillSeconds)}`],
      ['keys held', String(keysHeld)],
      ['evictions', String(evictions)],
      ['store usedBytes', `${mib(usedBytes)} (${((usedBytes / budget) * 100).toFixed(1)}% of budget)`],
      ['RSS before the fill', mib(rssAtStart)],
      ['RSS at end', `${mib(rssEnd)} (${(rssEnd / budget).toFixed(2)}x budget)`],
      [
        '  RSS at end, kernel: anonymous + file-backed',
        kernel ? `${mib(kernel.anon)} + ${mib(kernel.file)}` : 'n/a',
      ],
      [`peak RSS, sampled (${samples} samples)`, mib(peakSampled)],
      ['peak RSS, kernel (VmHWM)', kernel ? mib(kernel.hwm) : 'n/a'],
      ['peak RSS / budget', `${(peak / budget).toFixed(2)}x`],
      [
        `goal: RSS < ${RSS_GOAL_RATIO}x budget (${mib(budget * RSS_GOAL_RATIO)}), evictions > 0`,
        goalMet ? 'met' : 'MISSED',
      ],
      ['heap used / heap total', `${mib(heapUsed)} / ${mib(heapTotal)}`],
      [
        '  heap total: new / old / other spaces',
        `${mib(spaces['new'])} / ${mib(spaces['old'])} / ${mib(otherSpaces)}`,
      ],
      ['external (incl. the store)', mib(external)],
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    console.log(`\nnode memory, one cache of ${budgetMiB} MiB`);
    for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`);

    if (jsonFile) {
      const figures = {
        node: process.version,
        nodeOptions,
        v8Flags,
        budgetBytes: budget,
        inserts,
        acknowledged,
        keyBytes: KEY_BYTES,
        valueBytes: VALUE_BYTES,
        batch,
        inFlight,
        fillSeconds,
        setsPerSec: Math.round(acknowledged / fillSeconds),
        keysHeld,
        evictions,
        usedBytes,
        maxBytes,
        rssBeforeFillBytes: rssAtStart,
        rssEndBytes: rssEnd,
        peakRssSampledBytes: peakSampled,
        rssSamples: samples,
        peakRssKernelBytes: kernel?.hwm ?? null,
        rssAnonEndBytes: kernel?.anon ?? null,
        rssFileEndBytes: kernel?.file ?? null,
        peakRssBytes: peak,
        rssEndOverBudget: rssEnd / budget,
        peakRssOverBudget: peak / budget,
        goalRatio: RSS_GOAL_RATIO,
        goalMet,
        heapUsedBytes: heapUsed ?? null,
        heapTotalBytes: heapTotal ?? null,
        externalBytes: external ?? null,
        heapSpaceTotalBytes: spaces,
      };
      writeFileSync(jsonFile, JSON.stringify(figures, null, 2) + '\n');
    }
  } finally {
    clearInterval(sampler);
    await client?.close();
    exitCode = await node.stop();
  }
  console.log(`\nnode stopped with SIGTERM: exit code ${exitCode}${exitCode === 0 ? '' : ' (expected 0)'}`);
  return exitCode === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench:node-memory failed: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
