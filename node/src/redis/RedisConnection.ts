import type { Socket } from 'node:net';
import type { RedisServer } from './RedisServer.js';
import type { RedisCommand } from './RedisCommand.js';
import { NOAUTH, replyFor, unknownCommand, unknownSubcommand, wrongArity } from './RedisReplyError.js';
import { ROUTE_LOCAL, ROUTE_REMOTE } from './RedisRouter.js';
import { RespParser } from './RespParser.js';
import { RespWriter } from './RespWriter.js';
import type { ReplyWriter } from './remote.js';

/**
 * Replies one batch may hold before it is flushed and the rest of the read
 * waits: bounds the memory a client that pipelines large reads can pin.
 */
const BATCH_OUTPUT_BYTES = 1024 * 1024;

/**
 * Bytes of later requests a connection reads while a command waits on the
 * coordinator; past this the socket stops being read until the reply is out
 * (TCP backpressure instead of an ever-growing parser buffer).
 */
const PENDING_READ_BYTES = 256 * 1024;

/**
 * One Redis client connection: bytes in through the parser, each command
 * through the command table, replies out through the writer.
 *
 * Pipelining: all commands in one read run back to back and their replies go
 * out in one socket write (a batch stops early at BATCH_OUTPUT_BYTES of
 * replies). Backpressure: when a write is not taken whole (the peer is not
 * reading its replies), the connection stops reading the socket and parsing
 * what it already read until 'drain'. A protocol error, QUIT or a limit
 * closes the connection after the reply, as redis-server does.
 *
 * Commands that go through the coordinator (see RedisRouter) are
 * asynchronous: dispatch suspends the parser until the reply is written, so
 * replies keep request order and a connection runs one such command at a
 * time (its later commands, local or not, wait behind it); other
 * connections are not held up. Replies written before the suspension are
 * flushed at once. A connection that closes meanwhile drops the reply.
 */
export class RedisConnection {
  readonly out = new RespWriter();
  readonly parser: RespParser;
  readonly createdAt = Date.now();
  /** When the client last sent something (to RedisServer.coarseNow's 100 ms). */
  lastInteraction = this.createdAt;
  /** Selected database: an index into the node's caches. */
  db = 0;
  name = '';
  libName = '';
  libVersion = '';
  authenticated: boolean;
  /** Full name of the command running or last run (CLIENT INFO cmd=). */
  lastCommand = 'NULL';
  bytesIn = 0;
  private closing = false;
  /** The socket closed: nothing more is written. */
  private closed = false;
  private paused = false;
  /** A command waits on the coordinator; the parser is suspended until its reply is written. */
  private pending = false;
  /** The socket was paused because PENDING_READ_BYTES arrived while a command was pending. */
  private heldForPending = false;
  /** A protocol error met while a command was pending: replied after that command's reply. */
  private deferredError: string | undefined = undefined;
  /** The last name the parser asked about (rawArgsOf) and what it names, so dispatch looks it up once. */
  private lookedUpName = '';
  private lookedUp: RedisCommand | undefined = undefined;

  constructor(
    readonly id: number,
    readonly socket: Socket,
    readonly server: RedisServer,
  ) {
    const o = server.options;
    this.authenticated = o.password === '';
    this.parser = new RespParser(
      { maxBulkBytes: o.maxBulkBytes, maxArgs: o.maxArgs, maxQueryBufferBytes: o.maxQueryBufferBytes },
      (argv, argc) => this.dispatch(argv, argc),
      (name) => this.rawArgsOf(name),
    );
    this.parser.unauthenticated = !this.authenticated;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 300_000);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.onDrain());
    socket.on('error', () => {
      // ECONNRESET and friends: 'close' follows and cleans up.
    });
    socket.once('close', () => this.onClose());
  }

  get resp(): number {
    return this.out.resp;
  }

  set resp(version: number) {
    this.out.resp = version;
  }

  get isClosing(): boolean {
    return this.closing;
  }

  /** True while a command waits on the coordinator. */
  get isPending(): boolean {
    return this.pending;
  }

  get remoteAddress(): string {
    return `${this.socket.remoteAddress ?? '?'}:${this.socket.remotePort ?? 0}`;
  }

  get localAddress(): string {
    return `${this.socket.localAddress ?? '?'}:${this.socket.localPort ?? 0}`;
  }

  /** Marks the client authenticated or not (AUTH, HELLO AUTH, RESET). */
  setAuthenticated(yes: boolean): void {
    this.authenticated = yes;
    this.parser.unauthenticated = !yes;
  }

  /** Ends the connection once the replies written so far are flushed (QUIT, protocol errors). */
  closeAfterReply(): void {
    this.closing = true;
  }

  private onData(chunk: Buffer): void {
    if (this.closing) return;
    this.bytesIn += chunk.length;
    this.server.counters.netInputBytes += chunk.length;
    this.lastInteraction = this.server.coarseNow;
    this.afterParse(this.parser.feed(chunk));
    if (this.pending && !this.heldForPending && this.parser.bufferedBytes >= PENDING_READ_BYTES) {
      this.heldForPending = true;
      this.socket.pause();
    }
  }

  /** Replies to a parse step, then keeps parsing held bytes while the peer keeps up. */
  private afterParse(error: string | undefined): void {
    while (true) {
      if (error !== undefined) {
        if (this.pending) {
          // Its reply must follow the pending command's (the parser has stopped).
          this.deferredError = error;
          return;
        }
        this.server.counters.protocolErrors++;
        this.out.error(`ERR ${error}`);
        this.closing = true;
      }
      if (!this.flush() || !this.parser.isSuspended || this.pending) return;
      error = this.parser.resume();
    }
  }

  /** Waits for a remote command's reply; the parser stays suspended until it is written. */
  private await(cmd: RedisCommand, reply: Promise<ReplyWriter>): void {
    this.pending = true;
    reply.then(
      (write) => this.finish(cmd, write),
      (err: unknown) =>
        this.finish(cmd, () => {
          throw err;
        }),
    );
  }

  /** Writes a remote command's reply (unless the socket closed meanwhile) and goes on parsing. */
  private finish(cmd: RedisCommand, write: ReplyWriter): void {
    this.pending = false;
    if (this.closed) return;
    const out = this.out;
    const errorsBefore = out.errors;
    try {
      write(out);
    } catch (err) {
      out.error(replyFor(err));
    }
    if (out.errors !== errorsBefore) cmd.failedCalls++;
    if (this.heldForPending) {
      this.heldForPending = false;
      if (!this.paused) this.socket.resume();
    }
    const error = this.deferredError;
    this.deferredError = undefined;
    this.afterParse(error);
  }

  /**
   * Sends what the writer holds. Returns false when the connection is closing
   * or the peer is not keeping up; reading then stops until 'drain'.
   */
  flush(): boolean {
    const before = this.out.bytesOut;
    const ok = this.out.flush(this.socket);
    this.server.counters.netOutputBytes += this.out.bytesOut - before;
    if (this.closing) {
      this.parser.stop();
      this.socket.destroySoon();
      return false;
    }
    if (!ok && !this.paused) {
      this.paused = true;
      this.server.counters.backpressurePauses++;
      this.socket.pause();
    }
    return ok;
  }

  private onDrain(): void {
    if (!this.paused || this.closing) return;
    this.paused = false;
    if (!this.heldForPending) this.socket.resume();
    if (this.parser.isSuspended && !this.pending) this.afterParse(this.parser.resume());
  }

  private onClose(): void {
    this.closing = true;
    this.closed = true;
    this.parser.stop();
    this.server.removeConnection(this);
  }

  /** The parser's RawArgsLookup: the named command's raw argument positions (remembered for dispatch). */
  private rawArgsOf(name: string): number {
    const cmd = this.server.table.lookup(name);
    this.lookedUpName = name;
    this.lookedUp = cmd;
    return cmd === undefined ? 0 : cmd.rawArgs;
  }

  /**
   * Runs one parsed command. Returns false (suspending the parser) once the
   * connection is closing, the batch's replies reach BATCH_OUTPUT_BYTES, or
   * the command went to the coordinator (until its reply is written).
   */
  private dispatch(argv: string[], argc: number): boolean {
    const server = this.server;
    const out = this.out;
    server.counters.commandsProcessed++;
    const name = argv[0]!;
    let cmd = name === this.lookedUpName ? this.lookedUp : server.table.lookup(name);
    if (cmd === undefined) {
      server.counters.unknownCommands++;
      out.error(unknownCommand(argv, argc));
      return !this.closing;
    }
    if (!cmd.arityAllows(argc)) {
      cmd.rejectedCalls++;
      out.error(wrongArity(cmd.name));
      return !this.closing;
    }
    if (cmd.subcommands !== undefined && argc >= 2) {
      const sub = cmd.subcommands.get(argv[1]!.toLowerCase());
      if (sub === undefined) {
        cmd.rejectedCalls++;
        out.error(unknownSubcommand(argv[1]!, cmd.name));
        return !this.closing;
      }
      if (!sub.arityAllows(argc)) {
        sub.rejectedCalls++;
        out.error(wrongArity(sub.name));
        return !this.closing;
      }
      cmd = sub;
    }
    if (!this.authenticated && !cmd.noAuth) {
      cmd.rejectedCalls++;
      out.error(NOAUTH);
      return !this.closing;
    }
    cmd.calls++;
    this.lastCommand = cmd.name;
    const errorsBefore = out.errors;
    const router = server.router;
    try {
      const route = router === undefined ? ROUTE_LOCAL : router.route(this, cmd, argv, argc);
      if (route === ROUTE_LOCAL) {
        cmd.handler(this, argv, argc);
      } else if (route === ROUTE_REMOTE) {
        this.await(cmd, cmd.remote!(this, argv, argc));
        return false;
      } // else the router replied (a cluster mode's redirection)
    } catch (err) {
      out.error(replyFor(err));
    }
    if (out.errors !== errorsBefore) cmd.failedCalls++;
    return !this.closing && out.pendingBytes < BATCH_OUTPUT_BYTES;
  }
}
