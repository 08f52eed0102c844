import { Consistency } from '@meshcache/proto';
import type { OperationCoordinator } from '../coordinator/OperationCoordinator.js';
import { RAW_MAX_ARGS } from './RespParser.js';
import type { RedisCommand } from './RedisCommand.js';
import type { RedisConnection } from './RedisConnection.js';
import { slotOfLatin1, slotOfRange } from './keySlot.js';

/** Routes: run the handler on the local executor, synchronously. */
export const ROUTE_LOCAL = 0;
/** Routes: run the command's remote form through the coordinator (asynchronous). */
export const ROUTE_REMOTE = 1;
/** Routes: the router wrote the reply itself (a later cluster mode's MOVED, ASK, CROSSSLOT). */
export const ROUTE_REPLIED = 2;

/**
 * The step between a command's checks (arity, auth) and its handler that
 * decides where it runs, from the command's key positions (firstKey,
 * lastKey, step). One router per listener: it is how a listener's mode is
 * chosen. Today there is one mode, proxy (ProxyRouter); a cluster mode
 * (Redis Cluster clients: MOVED/ASK for slots this node does not serve,
 * CROSSSLOT for multi-key commands across slots) plugs in here as another
 * router, without touching the handlers. No router (no coordinator) = every
 * command runs locally, as a standalone node.
 */
export interface RedisRouter {
  /** ROUTE_LOCAL, ROUTE_REMOTE or ROUTE_REPLIED for the command about to run. */
  route(c: RedisConnection, cmd: RedisCommand, argv: readonly string[], argc: number): number;
}

/** The slot of argv[i], whichever form the parser left it in (a raw byte range or a string). */
export function argSlot(c: RedisConnection, argv: readonly string[], i: number): number {
  const p = c.parser;
  if (i < RAW_MAX_ARGS && ((p.rawMask >>> i) & 1) !== 0) {
    return slotOfRange(p.rawBuf[i]!, p.rawStart[i]!, p.rawLen[i]!);
  }
  return slotOfLatin1(argv[i]!);
}

/**
 * Proxy semantics: any node serves any key. A command whose every key the
 * coordinator lets run here (isLocal at the cache's default level) takes the
 * synchronous local path, exactly as a standalone node; any other goes
 * through the coordinator. Keyless commands (PING, INFO, DBSIZE ...) run
 * locally: whole-cache reads report this node's copy.
 */
export class ProxyRouter implements RedisRouter {
  constructor(private readonly coordinator: OperationCoordinator) {}

  route(c: RedisConnection, cmd: RedisCommand, argv: readonly string[], argc: number): number {
    const first = cmd.firstKey;
    if (first === 0 || cmd.remote === undefined) return ROUTE_LOCAL;
    const last = cmd.lastKey < 0 ? argc + cmd.lastKey : Math.min(cmd.lastKey, argc - 1);
    const step = cmd.step;
    const db = c.db;
    for (let i = first; i <= last; i += step) {
      if (!this.coordinator.isLocal(db, argSlot(c, argv, i), Consistency.CONSISTENCY_DEFAULT)) {
        return ROUTE_REMOTE;
      }
    }
    return ROUTE_LOCAL;
  }
}
