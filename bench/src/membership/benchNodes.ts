import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { localNodeArgs, NODE_V8_FLAGS } from '@meshcache/operator';

export const NODE_BIN = fileURLToPath(new URL('../../../node/dist/bin/meshcache-node.js', import.meta.url));

export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function waitFor<T>(
  cond: () => T | Promise<T>,
  timeoutMs: number,
  what: string,
): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try {
      const v = await cond();
      if (v) return v as NonNullable<T>;
    } catch {
      // retry
    }
    await sleep(50);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

export async function postJson(url: string, body: unknown): Promise<number> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  await res.arrayBuffer();
  return res.status;
}

/** One membership-relevant log line of a node, with pino's timestamp in epoch ms. */
export interface LogEvent {
  time: number;
  msg: string;
  entry: Record<string, unknown>;
}

const INTERESTING = new Set(['member state', 'view committed', 'view adopted', 'node ready']);

/** A meshcache-node process on loopback whose membership log lines are kept, timestamped. */
export class BenchNode {
  readonly events: LogEvent[] = [];
  grpcPort = 0;
  adminPort = 0;
  gossipPort = 0;
  exited = false;
  private readonly exit: Promise<void>;

  private constructor(
    readonly id: string,
    readonly child: ChildProcess,
  ) {
    createInterface({ input: child.stdout!, crlfDelay: Infinity }).on('line', (line) => {
      if (
        !line.includes('"msg":"member state"') &&
        !line.includes('"msg":"view') &&
        !line.includes('node ready')
      )
        return;
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        const msg = String(entry['msg']);
        if (!INTERESTING.has(msg)) return;
        if (msg === 'node ready') {
          this.grpcPort = entry['grpcPort'] as number;
          this.adminPort = entry['adminPort'] as number;
          this.gossipPort = entry['gossipPort'] as number;
        }
        this.events.push({ time: new Date(entry['time'] as string).getTime(), msg, entry });
      } catch {
        // not a log line
      }
    });
    child.stderr!.resume();
    this.exit = new Promise((resolve) =>
      child.once('exit', () => {
        this.exited = true;
        resolve();
      }),
    );
  }

  static async start(id: string, args: string[]): Promise<BenchNode> {
    const child = spawn(process.execPath, [...NODE_V8_FLAGS, NODE_BIN, ...localNodeArgs(id), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const node = new BenchNode(id, child);
    await waitFor(() => node.gossipPort > 0 || node.exited, 20_000, `${id} to start`);
    if (node.exited) throw new Error(`${id} exited before it was ready`);
    return node;
  }

  get adminUrl(): string {
    return `http://127.0.0.1:${this.adminPort}`;
  }

  get gossipAddress(): string {
    return `127.0.0.1:${this.gossipPort}`;
  }

  kill(signal: NodeJS.Signals): void {
    if (!this.exited) this.child.kill(signal);
  }

  async stop(): Promise<void> {
    this.kill('SIGKILL');
    await this.exit;
  }

  waitForExit(): Promise<void> {
    return this.exit;
  }
}

export interface ViewReply {
  epoch: number;
  member: boolean;
  members: { id: string; instance: number }[];
}

/** True once every node holds the same committed view, with `size` members, each a member. */
export async function agreed(nodes: BenchNode[], size: number): Promise<boolean> {
  const views = await Promise.all(nodes.map((n) => getJson<ViewReply>(`${n.adminUrl}/v1/cluster/view`)));
  const key = (v: ViewReply) => `${v.epoch}:${v.members.map((m) => `${m.id}@${m.instance}`).join()}`;
  return views.every((v) => v.member && v.members.length === size && key(v) === key(views[0]!));
}

/** Starts `n` nodes on loopback: the first forms the cluster, the others name it as their seed. */
export async function startCluster(n: number, prefix: string, args: string[]): Promise<BenchNode[]> {
  const first = await BenchNode.start(`${prefix}-0`, args);
  const rest = await Promise.all(
    Array.from({ length: n - 1 }, (_, i) =>
      BenchNode.start(`${prefix}-${i + 1}`, [...args, '--seeds', first.gossipAddress]),
    ),
  );
  const nodes = [first, ...rest];
  await waitFor(() => agreed(nodes, n), 60_000, 'the cluster to form');
  return nodes;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, c) => Math.max(...cells.map((r) => r[c]!.length)));
  return cells
    .map((r, i) => {
      const line = r
        .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
        .join('  ');
      return i === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
    })
    .join('\n');
}
