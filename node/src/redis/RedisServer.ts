import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import type { OperationCoordinator } from '../coordinator/OperationCoordinator.js';
import type { CacheRegistry } from '../engine/CacheRegistry.js';
import type { OperationExecutor } from '../engine/OperationExecutor.js';
import { CommandTable } from './CommandTable.js';
import { RedisConnection } from './RedisConnection.js';
import { ProxyRouter, type RedisRouter } from './RedisRouter.js';
import { RespWriter } from './RespWriter.js';

export interface RedisServerOptions {
  nodeId: string;
  serverVersion: string;
  /** Largest bulk string a request may carry (Redis proto-max-bulk-len). */
  maxBulkBytes: number;
  /** Most arguments in one command. */
  maxArgs: number;
  /** Most bytes buffered for one command while it arrives (Redis client-query-buffer-limit). */
  maxQueryBufferBytes: number;
  /** Most open client connections (Redis maxclients). */
  maxClients: number;
  /** Password of the `default` user (Redis requirepass); '' = no AUTH needed. Never logged. */
  password: string;
  /** Time SIGTERM allows for replies in flight before connections are cut. */
  shutdownTimeoutMs: number;
  /**
   * Deadline of a command that goes through the coordinator (its keys are
   * not all served here), from when it is dispatched; past it the reply is
   * `-TIMEOUT ...`. Default DEFAULT_COMMAND_TIMEOUT_MS (5 s).
   */
  commandTimeoutMs?: number;
}

/** RedisServerOptions.commandTimeoutMs when not given. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 5000;

/** Monotonic counters (and the open-connection gauge) for INFO and metrics. */
export interface RedisCounters {
  connectionsReceived: number;
  rejectedConnections: number;
  openConnections: number;
  commandsProcessed: number;
  unknownCommands: number;
  protocolErrors: number;
  authFailures: number;
  backpressurePauses: number;
  netInputBytes: number;
  netOutputBytes: number;
}

/**
 * The Redis protocol front door of a node: a TCP listener speaking RESP2 and
 * RESP3. Databases map onto the node's caches (SELECT n = the n-th
 * configured cache); see docs/redis.md.
 *
 * With a coordinator, the listener has proxy semantics (ProxyRouter): a
 * command whose keys the coordinator lets run here runs synchronously on the
 * node's OperationExecutor; any other goes through the coordinator as wire
 * Operations, so any node serves any key. Without one, every command runs on
 * the local executor (a standalone node).
 */
export class RedisServer {
  readonly table = new CommandTable();
  readonly connections = new Set<RedisConnection>();
  readonly counters: RedisCounters = {
    connectionsReceived: 0,
    rejectedConnections: 0,
    openConnections: 0,
    commandsProcessed: 0,
    unknownCommands: 0,
    protocolErrors: 0,
    authFailures: 0,
    backpressurePauses: 0,
    netInputBytes: 0,
    netOutputBytes: 0,
  };
  readonly startedAt = Date.now();
  /** Wall clock to 100 ms, for connection idle times without a clock read per request. */
  coarseNow = Date.now();
  port = 0;
  private coarseTimer: NodeJS.Timeout | undefined;
  private nextClientId = 1;
  private readonly server: Server;
  /** SHA-256 of the password: compared in constant time, and the password itself is not kept here. */
  private readonly passwordDigest: Buffer | undefined;
  private closing = false;
  /** How this listener routes commands (undefined: all local). */
  readonly router: RedisRouter | undefined;
  readonly commandTimeoutMs: number;

  constructor(
    readonly options: RedisServerOptions,
    readonly executor: OperationExecutor,
    readonly caches: CacheRegistry,
    private readonly log: Logger,
    readonly coordinator?: OperationCoordinator,
  ) {
    this.router = coordinator === undefined ? undefined : new ProxyRouter(coordinator);
    this.commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    this.passwordDigest = options.password === '' ? undefined : digest(options.password);
    this.server = createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.server.on('error', (err) => this.log.error({ err }, 'redis listener error'));
  }

  /** Binds the listener; returns the bound port (0 picks a free one). */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen({ host, port }, () => {
        this.server.off('error', onError);
        const address = this.server.address();
        this.port = typeof address === 'object' && address !== null ? address.port : port;
        this.coarseTimer = setInterval(() => (this.coarseNow = Date.now()), 100);
        this.coarseTimer.unref();
        resolve(this.port);
      });
    });
  }

  private accept(socket: Socket): void {
    this.counters.connectionsReceived++;
    if (this.closing || this.connections.size >= this.options.maxClients) {
      this.counters.rejectedConnections++;
      socket.on('error', () => {});
      const out = new RespWriter();
      out.error(this.closing ? 'ERR server is shutting down' : 'ERR max number of clients reached');
      out.flush(socket);
      socket.destroySoon();
      return;
    }
    const conn = new RedisConnection(this.nextClientId++, socket, this);
    this.connections.add(conn);
    this.counters.openConnections = this.connections.size;
  }

  /**
   * Whether `user`/`password` log in as the `default` user (the only user: no
   * ACLs). Without a configured password, `default` accepts any password, as
   * redis-server's nopass default user does.
   */
  checkPassword(user: string, password: string): boolean {
    if (user !== 'default') return false;
    if (this.passwordDigest === undefined) return true;
    return timingSafeEqual(digest(password), this.passwordDigest);
  }

  removeConnection(conn: RedisConnection): void {
    this.connections.delete(conn);
    this.counters.openConnections = this.connections.size;
  }

  /**
   * Stops accepting and closes every connection. Replies are written as each
   * read is handled, so nothing received is left unanswered (a connection
   * waiting on the coordinator closes once that reply is written);
   * connections get the grace period to flush, then are cut.
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.coarseTimer);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const conn of this.connections) {
      conn.closeAfterReply();
      if (!conn.isPending) conn.flush();
    }
    let timer: NodeJS.Timeout | undefined;
    const force = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        for (const conn of this.connections) conn.socket.destroy();
        resolve();
      }, this.options.shutdownTimeoutMs);
      timer.unref();
    });
    await Promise.race([closed, force]);
    clearTimeout(timer);
  }
}

function digest(password: string): Buffer {
  return createHash('sha256').update(password, 'latin1').digest();
}
