import { NodeProcess, type StartNodeOptions } from './NodeProcess.js';
import { waitFor } from './waitFor.js';

/** What `GET /v1/cluster/view` returns. */
export interface ViewReply {
  cluster?: string;
  epoch: number;
  members: { id: string; zone: string; address: string; instance: number; meta: Record<string, string> }[];
  decider: string | null;
  currentDecider: string | null;
  removed?: { id: string; reason: string }[];
  self: string;
  member: boolean;
}

/** What `GET /v1/cluster/members` returns. */
export interface MembersReply {
  self: string;
  epoch: number;
  member: boolean;
  decider: string | null;
  members: {
    id: string;
    state: string;
    incarnation: number;
    instance: number;
    address: string;
    member: boolean;
  }[];
}

export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

export async function postJson(url: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  return { status: res.status, body: await res.json() };
}

/** Short membership timings so tests see removals and rejoins in seconds. */
export const FAST_REMOVAL_ARGS = ['--remove-after-ms', '3000', '--push-pull-interval-ms', '3000'];

/** The topology as `/v1/cluster/topology` serves it (the fields tests read). */
export interface SettledTopology {
  epoch: number;
  members: { id: string }[];
  tables: {
    replicationFactor: number;
    ranges: { start: number; end: number; replicas: string[] }[];
    pending?: { start: number; end: number; replicas: string[]; since: number }[];
  }[];
}

export interface ClusterOptions {
  /** Extra flags for every node. */
  args?: string[];
  env?: Record<string, string>;
  /** Extra flags for one node, by index (after the shared ones). */
  nodeArgs?: (index: number) => string[];
  /** Per-node start options (network namespace, host), by index. */
  placement?: (index: number) => Partial<StartNodeOptions>;
  /** Id prefix; nodes are `<prefix>-<index>`. */
  prefix?: string;
  /**
   * Cluster.start waits until every node is a member of one epoch with no
   * slot move pending and every node ready (default true): placement moves
   * go through a pending step before they take effect.
   */
  settle?: boolean;
}

/**
 * N real meshcache-node processes forming one cluster from one seed: the
 * first starts without seeds (and bootstraps epoch 1), the others name it as
 * their only seed.
 */
export class Cluster {
  readonly nodes: NodeProcess[] = [];
  private readonly prefix: string;

  constructor(private readonly options: ClusterOptions = {}) {
    this.prefix = options.prefix ?? `m${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
  }

  static async start(n: number, options: ClusterOptions = {}): Promise<Cluster> {
    const c = new Cluster(options);
    try {
      await c.add();
      await Promise.all(Array.from({ length: n - 1 }, () => c.add()));
      if (options.settle !== false) await c.waitSettled(c.nodes, n);
    } catch (err) {
      await c.stopAll();
      throw err;
    }
    return c;
  }

  idOf(index: number): string {
    return `${this.prefix}-${index}`;
  }

  get seed(): NodeProcess {
    return this.nodes[0]!;
  }

  /** Starts one more node (index = how many were started before), seeded with the first node. */
  async add(index = this.nodes.length, extra: string[] = []): Promise<NodeProcess> {
    const seeds = this.nodes.length > 0 && index !== 0 ? ['--seeds', this.nodes[0]!.gossipAddress] : [];
    this.nodes[index] = undefined as unknown as NodeProcess;
    const node = await NodeProcess.start({
      id: this.idOf(index),
      args: [...(this.options.args ?? []), ...(this.options.nodeArgs?.(index) ?? []), ...seeds, ...extra],
      env: this.options.env,
      ...this.options.placement?.(index),
    });
    this.nodes[index] = node;
    return node;
  }

  running(): NodeProcess[] {
    return this.nodes.filter((n) => n !== undefined && n.exitCode === undefined);
  }

  view(node: NodeProcess): Promise<ViewReply> {
    return getJson<ViewReply>(`${node.adminUrl}/v1/cluster/view`);
  }

  members(node: NodeProcess): Promise<MembersReply> {
    return getJson<MembersReply>(`${node.adminUrl}/v1/cluster/members`);
  }

  /** Liveness of `id` as `observer` sees it. */
  async stateOf(observer: NodeProcess, id: string): Promise<string | undefined> {
    return (await this.members(observer)).members.find((m) => m.id === id)?.state;
  }

  /**
   * Waits until every node in `nodes` holds the same committed view, is a
   * member of it, and the view satisfies `check`; returns that view.
   */
  async waitForAgreement(
    nodes: NodeProcess[],
    check: (v: ViewReply) => boolean = () => true,
    timeoutMs = 30_000,
  ): Promise<ViewReply> {
    return waitFor(
      async () => {
        const views = await Promise.all(nodes.map((n) => this.view(n)));
        const first = views[0]!;
        const same = views.every(
          (v) =>
            v.member &&
            v.epoch === first.epoch &&
            v.cluster === first.cluster &&
            v.members.map((m) => `${m.id}@${m.instance}`).join() ===
              first.members.map((m) => `${m.id}@${m.instance}`).join(),
        );
        return same && check(first) ? first : undefined;
      },
      { timeoutMs, intervalMs: 100, what: 'every node to hold the same committed view' },
    );
  }

  /**
   * Waits until every node in `nodes` holds the same epoch with `members`
   * members, no slot move pending, and answers ready (every slot it holds
   * filled); returns that topology.
   */
  async waitSettled(
    nodes: readonly NodeProcess[],
    members: number,
    timeoutMs = 60_000,
  ): Promise<SettledTopology> {
    return waitFor(
      async () => {
        const tops = await Promise.all(
          nodes.map((n) => getJson<SettledTopology>(`${n.adminUrl}/v1/cluster/topology`)),
        );
        const first = tops[0]!;
        if (first.members.length !== members) return undefined;
        if (!tops.every((t) => t.epoch === first.epoch)) return undefined;
        if (first.tables.some((t) => (t.pending ?? []).length > 0)) return undefined;
        const ready = await Promise.all(nodes.map(async (n) => (await fetch(`${n.adminUrl}/readyz`)).status));
        return ready.every((code) => code === 200) ? first : undefined;
      },
      {
        timeoutMs,
        intervalMs: 200,
        what: `${members} members settled: one epoch, no move pending, every node ready`,
      },
    );
  }

  async stopAll(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await Promise.all(this.nodes.filter((n) => n !== undefined).map((n) => n.stop(signal)));
  }
}
