import { type ChildProcess, spawn } from 'node:child_process';
import { type WriteStream, createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { localNodeArgs, nodeArgs } from '../runtime/nodeBinary.js';

/** The ports a node reports in its `node ready` log line. */
export interface NodePorts {
  grpcPort: number;
  adminPort: number;
  redisPort: number;
  gossipPort: number;
  replicaPort: number;
}

/** How a child process ended. */
export interface NodeExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Lines kept per node for a failure report: warnings, errors and anything not JSON. */
const NOTABLE_LINES = 12;

/**
 * One meshcache-node child of the demo on loopback with ephemeral ports.
 * Unlike `LocalNodeProcess` it knows every port (the gossip port is the seed of
 * the others), its pid, takes any signal, and writes its log to a file in its
 * own directory (its working directory too).
 */
export class DemoNode {
  ports: NodePorts = { grpcPort: 0, adminPort: 0, redisPort: 0, gossipPort: 0, replicaPort: 0 };
  /** From spawn to its `node ready` line, ms. */
  readyMs = 0;
  /** Set once the process has exited. */
  exitStatus: NodeExit | undefined;
  /** Whether the demo meant it to exit (killed or stopped on purpose). */
  expectExit = false;
  readonly exited: Promise<NodeExit>;
  readonly logPath: string;
  private readonly notable: string[] = [];
  private readonly log: WriteStream;

  private constructor(
    readonly id: string,
    private readonly child: ChildProcess,
    dir: string,
  ) {
    this.logPath = join(dir, 'node.log');
    this.log = createWriteStream(this.logPath);
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exitStatus = { code, signal };
        resolve(this.exitStatus);
      }),
    );
    createInterface({ input: child.stderr!, crlfDelay: Infinity }).on('line', (line) => this.record(line));
  }

  /** Spawns the node in `dir` (created) and resolves once it logs `node ready`. */
  static async start(
    id: string,
    dir: string,
    extraArgs: readonly string[],
    onSpawn: (node: DemoNode) => void,
    timeoutMs = 20_000,
  ): Promise<DemoNode> {
    mkdirSync(dir, { recursive: true });
    const spawned = performance.now();
    const child = spawn(process.execPath, nodeArgs([...localNodeArgs(id), ...extraArgs]), {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const node = new DemoNode(id, child, dir);
    onSpawn(node);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${id} did not log "node ready" within ${timeoutMs} ms`)),
        timeoutMs,
      );
      let ready = false;
      createInterface({ input: child.stdout!, crlfDelay: Infinity }).on('line', (line) => {
        node.record(line);
        if (ready || !line.includes('"node ready"')) return;
        ready = true;
        const r = JSON.parse(line) as NodePorts;
        node.ports = {
          grpcPort: r.grpcPort,
          adminPort: r.adminPort,
          redisPort: r.redisPort,
          gossipPort: r.gossipPort,
          replicaPort: r.replicaPort,
        };
        node.readyMs = performance.now() - spawned;
        clearTimeout(timer);
        resolve();
      });
      void node.exited.then((e) => {
        clearTimeout(timer);
        reject(new Error(`${id} exited (${describeExit(e)}) before it was ready`));
      });
    });
    return node;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.exitStatus === undefined;
  }

  get grpcAddress(): string {
    return `127.0.0.1:${this.ports.grpcPort}`;
  }

  get gossipAddress(): string {
    return `127.0.0.1:${this.ports.gossipPort}`;
  }

  get adminUrl(): string {
    return `http://127.0.0.1:${this.ports.adminPort}`;
  }

  /** Sends `signal` now (synchronous, so it is safe in an exit handler). */
  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`; resolves how it exited. */
  async stop(graceMs: number): Promise<NodeExit> {
    this.expectExit = true;
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    const e = await this.exited;
    clearTimeout(timer);
    return e;
  }

  /** Warnings, errors and non-JSON output the node printed last. */
  notableLines(): readonly string[] {
    return this.notable;
  }

  /** Resolves once everything read from the node is in its log file. */
  closeLog(): Promise<void> {
    return new Promise((resolve) => this.log.end(resolve));
  }

  private record(line: string): void {
    if (!this.log.writableEnded) this.log.write(`${line}\n`);
    let level = 100;
    try {
      level = (JSON.parse(line) as { level?: number }).level ?? 100;
    } catch {
      // not a JSON log line: keep it
    }
    if (level < 40) return;
    this.notable.push(line.length > 400 ? `${line.slice(0, 400)}...` : line);
    if (this.notable.length > NOTABLE_LINES) this.notable.shift();
  }
}

export function describeExit(e: NodeExit): string {
  return e.signal !== null ? `signal ${e.signal}` : `exit code ${e.code}`;
}
