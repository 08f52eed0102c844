/**
 * A meshcache-node process on loopback for the rebalancing bench. Unlike the
 * membership benches' BenchNode it keeps every log line, in a file, because
 * a slow or stuck move is diagnosed from the nodes' `slots filled` and
 * `fill task failed` lines; `slots filled` and `view committed` lines are
 * also kept parsed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { localNodeArgs, nodeArgs } from '@meshcache/operator';
import { waitFor } from '../membership/benchNodes.js';

/** One `slots filled` log line: a fill task finished. */
export interface FillLine {
  /** Epoch ms (pino's time). */
  time: number;
  purpose: string;
  slots: number;
  keys: number;
  bytes: number;
  sources: number;
  ms: number;
}

/** One `view committed` log line (only the deciding node logs them). */
export interface ViewLine {
  /** Epoch ms (pino's time). */
  time: number;
  epoch: number;
  members: string[];
}

export class RebalanceNode {
  grpcPort = 0;
  adminPort = 0;
  gossipPort = 0;
  exited = false;
  /** Epoch ms at spawn. */
  readonly spawnedAt = Date.now();
  readonly fills: FillLine[] = [];
  readonly views: ViewLine[] = [];
  /** `warn`/`error` lines (level >= 40), the first 200: evidence when something goes wrong. */
  readonly problems: string[] = [];
  private readonly exit: Promise<void>;
  private readonly file: WriteStream;

  private constructor(
    readonly id: string,
    readonly child: ChildProcess,
    readonly logPath: string,
  ) {
    this.file = createWriteStream(logPath, { flags: 'a' });
    createInterface({ input: child.stdout!, crlfDelay: Infinity }).on('line', (line) => {
      this.file.write(`${line}\n`);
      const ready = line.includes('"node ready"');
      const filled = line.includes('"slots filled"');
      const view = line.includes('"view committed"');
      const problem = /"level":(4|5|6)\d/.test(line);
      if (!ready && !filled && !view && !problem) return;
      try {
        const e = JSON.parse(line) as Record<string, unknown>;
        if (ready) {
          this.grpcPort = e['grpcPort'] as number;
          this.adminPort = e['adminPort'] as number;
          this.gossipPort = e['gossipPort'] as number;
        }
        if (filled) {
          this.fills.push({
            time: new Date(e['time'] as string).getTime(),
            purpose: String(e['purpose']),
            slots: Number(e['slots']),
            keys: Number(e['keys']),
            bytes: Number(e['bytes']),
            sources: Number(e['sources']),
            ms: Number(e['ms']),
          });
        }
        if (view) {
          this.views.push({
            time: new Date(e['time'] as string).getTime(),
            epoch: Number(e['epoch']),
            members: (e['members'] as string[] | undefined) ?? [],
          });
        }
        if (problem && this.problems.length < 200) this.problems.push(line);
      } catch {
        // not a log line
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => this.file.write(chunk));
    this.exit = new Promise((resolve) =>
      child.once('exit', () => {
        this.exited = true;
        resolve();
      }),
    );
  }

  /**
   * Spawns `meshcache-node` (MESHCACHE_NODE_BIN when set, else this tree's)
   * with the V8 flags every launcher uses; resolves once it logs `node ready`.
   */
  static async start(id: string, args: string[], logDir: string): Promise<RebalanceNode> {
    const child = spawn(process.execPath, nodeArgs([...localNodeArgs(id), ...args]), {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // A restart under the same id appends to the same file, so one file tells the id's whole story.
    const node = new RebalanceNode(id, child, join(logDir, `${id}.log`));
    await waitFor(() => node.gossipPort > 0 || node.exited, 30_000, `${id} to start`);
    if (node.exited) throw new Error(`${id} exited before it was ready (log: ${node.logPath})`);
    return node;
  }

  get adminUrl(): string {
    return `http://127.0.0.1:${this.adminPort}`;
  }

  get grpcAddress(): string {
    return `127.0.0.1:${this.grpcPort}`;
  }

  get gossipAddress(): string {
    return `127.0.0.1:${this.gossipPort}`;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.exited) this.child.kill(signal);
    await this.exit;
    await new Promise<void>((resolve) => this.file.end(resolve));
  }
}
