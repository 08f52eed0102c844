import type { RedisConnection } from './RedisConnection.js';
import type { ReplyWriter } from './remote.js';

/**
 * Runs one command. `argv[0..argc)` are the arguments (argv[0] is the name
 * as sent; a subcommand's is argv[1]); the array is reused after the call.
 * A handler writes exactly one reply to `c.out`, or throws (RedisReplyError,
 * OperationError, StoreError) and the dispatcher replies with the error.
 */
export type CommandHandler = (c: RedisConnection, argv: readonly string[], argc: number) => void;

/**
 * The same command as wire Operations through the coordinator (when its keys
 * are not all local; see RedisRouter). Checks and parses arguments exactly as
 * the handler does, throwing the same errors synchronously (nothing is sent
 * then); copies what it needs out of argv and the parser's raw ranges before
 * returning (they are reused after the call). Resolves, once the operations
 * are answered, to the function that writes the reply the handler would
 * have written, or throws the error it would have thrown (never rejects for
 * an error result: see remote.check). The connection suspends its parser
 * meanwhile, so replies keep request order and a connection's commands run
 * one after another.
 */
export type RemoteHandler = (
  c: RedisConnection,
  argv: readonly string[],
  argc: number,
) => Promise<ReplyWriter>;

/** Command flags as COMMAND INFO lists them (Redis 7 names). */
export type CommandFlag =
  | 'write'
  | 'readonly'
  | 'denyoom'
  | 'admin'
  | 'pubsub'
  | 'noscript'
  | 'blocking'
  | 'loading'
  | 'stale'
  | 'skip_monitor'
  | 'skip_slowlog'
  | 'fast'
  | 'no_auth'
  | 'may_replicate'
  | 'no_mandatory_keys'
  | 'allow_busy'
  | 'sentinel';

export interface CommandSpec {
  /** Lowercase name; a subcommand's is `container|sub` (e.g. `client|setname`). */
  name: string;
  /** Redis arity: n = exactly n arguments (with the name), -n = at least n. */
  arity: number;
  flags: readonly CommandFlag[];
  /** Key positions: first key index, last (negative = from the end), step; 0, 0, 0 = no keys. */
  firstKey: number;
  lastKey: number;
  step: number;
  /** ACL categories without the @ (read, write, string, keyspace, connection, server, fast, slow ...). */
  categories: readonly string[];
  /** COMMAND DOCS fields. */
  summary: string;
  since: string;
  group: string;
  complexity?: string;
  handler: CommandHandler;
  /** The command as wire Operations (every command with keys has one). */
  remote?: RemoteHandler;
  /**
   * Argument positions the handler takes as raw byte ranges (bit i =
   * argv[i]; see RespParser's RAW ARGUMENTS): for those, a multibulk
   * command's argv[i] is '' and the bytes are in c.parser.rawBuf/rawStart/
   * rawLen while c.parser.rawMask has the bit. The handler must also work
   * without them (inline commands: rawMask 0, argv holds strings).
   */
  rawArgs?: number;
  /** For a container command (CLIENT, CONFIG, COMMAND): its subcommands. */
  subcommands?: readonly CommandSpec[];
}

/**
 * One entry of the command table. The metadata (arity, flags, key positions)
 * is what COMMAND reports and what routing needs: the listener's RedisRouter
 * reads the key positions before the handler runs (proxy mode: local or
 * through the coordinator; a later cluster mode: CROSSSLOT, MOVED, ASK),
 * without touching the handlers.
 */
export class RedisCommand {
  readonly name: string;
  readonly arity: number;
  readonly flags: readonly CommandFlag[];
  readonly firstKey: number;
  readonly lastKey: number;
  readonly step: number;
  readonly categories: readonly string[];
  readonly summary: string;
  readonly since: string;
  readonly group: string;
  readonly complexity: string | undefined;
  readonly handler: CommandHandler;
  readonly remote: RemoteHandler | undefined;
  /** CommandSpec.rawArgs, 0 when none. */
  readonly rawArgs: number;
  readonly noAuth: boolean;
  /** Subcommands by lowercase name, for container commands. */
  readonly subcommands: Map<string, RedisCommand> | undefined;
  /** Calls that reached the handler. */
  calls = 0;
  /** Calls whose reply was an error. */
  failedCalls = 0;
  /** Calls refused before the handler (arity, authentication). */
  rejectedCalls = 0;

  constructor(spec: CommandSpec) {
    this.name = spec.name;
    this.arity = spec.arity;
    this.flags = spec.flags;
    this.firstKey = spec.firstKey;
    this.lastKey = spec.lastKey;
    this.step = spec.step;
    this.categories = spec.categories;
    this.summary = spec.summary;
    this.since = spec.since;
    this.group = spec.group;
    this.complexity = spec.complexity;
    this.handler = spec.handler;
    this.remote = spec.remote;
    this.rawArgs = spec.rawArgs ?? 0;
    this.noAuth = spec.flags.includes('no_auth');
    if (spec.subcommands === undefined) {
      this.subcommands = undefined;
    } else {
      this.subcommands = new Map();
      for (const sub of spec.subcommands) {
        this.subcommands.set(sub.name.slice(sub.name.indexOf('|') + 1), new RedisCommand(sub));
      }
    }
  }

  /** True when argc arguments (with the name) satisfy the arity. */
  arityAllows(argc: number): boolean {
    const a = this.arity;
    return a >= 0 ? argc === a : argc >= -a;
  }

  /** Positions of the key arguments in argv[0..argc), per firstKey/lastKey/step. */
  keyPositions(argc: number): number[] {
    if (this.firstKey === 0) return [];
    const last = this.lastKey < 0 ? argc + this.lastKey : this.lastKey;
    const positions: number[] = [];
    for (let i = this.firstKey; i <= last && i < argc; i += this.step) positions.push(i);
    return positions;
  }
}
