import { Consistency } from '@meshcache/proto';

/** Replica acks (or matching replies) a level needs among `replicas` copies. */
export function requiredReplicas(level: Consistency, replicas: number): number {
  switch (level) {
    case Consistency.ONE:
      return 1;
    case Consistency.ALL:
      return replicas;
    default:
      return Math.floor(replicas / 2) + 1;
  }
}

/** The level an operation runs at: its own, else the cache's default. */
export function levelOf(requested: Consistency, cacheDefault: Consistency): Consistency {
  return requested === Consistency.CONSISTENCY_DEFAULT ? cacheDefault : requested;
}

export const LEVEL_NAMES: Record<number, string> = {
  [Consistency.ONE]: 'ONE',
  [Consistency.QUORUM]: 'QUORUM',
  [Consistency.ALL]: 'ALL',
};
