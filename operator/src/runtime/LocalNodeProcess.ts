import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { localNodeArgs, nodeArgs } from './nodeBinary.js';

export interface LocalNodeOptions {
  id: string;
  /** Extra meshcache-node flags. */
  args?: string[];
  /** V8 flags for the node process; default NODE_V8_FLAGS (pass [] for V8's own defaults). */
  v8Flags?: readonly string[];
  startTimeoutMs?: number;
}

/**
 * One meshcache-node child process on loopback. It binds ephemeral ports and
 * reports them in its `node ready` log line, which this class reads.
 */
export class LocalNodeProcess {
  grpcPort = 0;
  adminPort = 0;
  private readonly exit: Promise<number | null>;
  private exited = false;
  private stderrTail = '';

  private constructor(
    readonly id: string,
    private readonly child: ChildProcess,
  ) {
    this.exit = new Promise((resolve) =>
      child.once('exit', (code) => {
        this.exited = true;
        resolve(code);
      }),
    );
    child
      .stderr!.setEncoding('utf8')
      .on('data', (t: string) => (this.stderrTail = (this.stderrTail + t).slice(-4000)));
  }

  static async start(options: LocalNodeOptions): Promise<LocalNodeProcess> {
    const child = spawn(
      process.execPath,
      nodeArgs([...localNodeArgs(options.id), ...(options.args ?? [])], options.v8Flags),
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const node = new LocalNodeProcess(options.id, child);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`node ${options.id} not ready after ${options.startTimeoutMs ?? 20_000} ms`)),
        options.startTimeoutMs ?? 20_000,
      );
      createInterface({ input: child.stdout!, crlfDelay: Infinity }).on('line', (line) => {
        if (!line.includes('"node ready"')) return;
        const ready = JSON.parse(line) as { grpcPort: number; adminPort: number };
        node.grpcPort = ready.grpcPort;
        node.adminPort = ready.adminPort;
        clearTimeout(timer);
        resolve();
      });
      void node.exit.then((code) => {
        clearTimeout(timer);
        reject(new Error(`node ${options.id} exited with ${code} before it was ready: ${node.stderrTail}`));
      });
    });
    return node;
  }

  get grpcAddress(): string {
    return `127.0.0.1:${this.grpcPort}`;
  }

  get adminUrl(): string {
    return `http://127.0.0.1:${this.adminPort}`;
  }

  /** SIGTERM, then the exit code. */
  async stop(): Promise<number | null> {
    if (!this.exited) this.child.kill('SIGTERM');
    return this.exit;
  }
}
