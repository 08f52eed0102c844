import type { CacheInfo, Limits } from '@meshcache/proto';

/** What a node told a connection in its handshake. */
export interface NodeSession {
  readonly protocolVersion: number;
  readonly sessionId: string;
  readonly nodeId: string;
  readonly serverVersion: string;
  readonly epoch: number;
  readonly limits: Limits | undefined;
  readonly caches: readonly CacheInfo[];
}
