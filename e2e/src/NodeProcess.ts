import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { localNodeArgs, NODE_V8_FLAGS } from '@meshcache/operator';
import { waitFor } from './waitFor.js';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const NODE_BIN = join(REPO_ROOT, 'node', 'dist', 'bin', 'meshcache-node.js');

export interface StartNodeOptions {
  id?: string;
  args?: string[];
  env?: Record<string, string>;
  /** Advertised host, also used to reach the node (default 127.0.0.1). */
  host?: string;
  /** Interface to bind (default: `host`). */
  bindHost?: string;
  /** Host to reach the admin port on, when it differs from `host`. */
  adminHost?: string;
  /** Command the node runs under, e.g. `['ip', 'netns', 'exec', 'ns1']` (it must exec, keeping the pid). */
  prefix?: string[];
}

/**
 * A real `meshcache-node` process on loopback with ephemeral ports. The ports
 * come from the node's own `node ready` log line, so no port is guessed.
 */
export class NodeProcess {
  readonly logs: string[] = [];
  stderr = '';
  grpcPort = 0;
  adminPort = 0;
  redisPort = 0;
  gossipPort = 0;
  host = '127.0.0.1';
  adminHost = '127.0.0.1';
  exitCode: number | null | undefined = undefined;
  private readonly exited: Promise<number | null>;

  private constructor(
    readonly child: ChildProcess,
    readonly id: string,
  ) {
    createInterface({ input: child.stdout!, crlfDelay: Infinity }).on('line', (line) => {
      this.logs.push(line);
      try {
        const entry = JSON.parse(line) as {
          msg?: string;
          grpcPort?: number;
          adminPort?: number;
          redisPort?: number;
          gossipPort?: number;
        };
        if (entry.msg === 'node ready') {
          this.redisPort = entry.redisPort!;
          this.grpcPort = entry.grpcPort!;
          this.adminPort = entry.adminPort!;
          this.gossipPort = entry.gossipPort ?? 0;
        }
      } catch {
        // not a log line
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) =>
      child.once('exit', (code) => {
        this.exitCode = code;
        resolve(code);
      }),
    );
  }

  static async start(options: StartNodeOptions = {}): Promise<NodeProcess> {
    const id = options.id ?? `node-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const host = options.host ?? '127.0.0.1';
    const prefix = options.prefix ?? [];
    const child = spawn(
      prefix[0] ?? process.execPath,
      [
        ...(prefix.length > 0 ? [...prefix.slice(1), process.execPath] : []),
        ...NODE_V8_FLAGS,
        NODE_BIN,
        ...localNodeArgs(id, host, options.bindHost ?? host),
        ...(options.args ?? []),
      ],
      { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const node = new NodeProcess(child, id);
    node.host = host;
    node.adminHost = options.adminHost ?? host;
    await waitFor(() => node.grpcPort > 0 || node.exitCode !== undefined, {
      timeoutMs: 20_000,
      what: `node ${id} to log "node ready"`,
    });
    if (node.grpcPort === 0) {
      throw new Error(
        `node ${id} exited with ${node.exitCode} before ready: ${node.stderr}${node.logs.join('\n')}`,
      );
    }
    return node;
  }

  get grpcAddress(): string {
    return `${this.host}:${this.grpcPort}`;
  }

  get redisAddress(): string {
    return `${this.host}:${this.redisPort}`;
  }

  /** host:port of the gossip (membership) port, for other nodes' `--seeds`. */
  get gossipAddress(): string {
    return `${this.host}:${this.gossipPort}`;
  }

  get adminUrl(): string {
    return `http://${this.adminHost}:${this.adminPort}`;
  }

  /** Sends a signal and waits for the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.exitCode === undefined) this.child.kill(signal);
    return this.exited;
  }

  waitForExit(): Promise<number | null> {
    return this.exited;
  }
}
