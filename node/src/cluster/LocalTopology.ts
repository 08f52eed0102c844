import { EventEmitter } from 'node:events';
import { type Member, MemberState, SLOT_COUNT, type Topology } from '@meshcache/proto';
import type { CacheRegistry } from '../engine/CacheRegistry.js';

export interface LocalMember {
  id: string;
  zone: string;
  grpcAddress: string;
  redisAddress: string;
  adminAddress: string;
  meshAddress: string;
}

/**
 * The topology a single node holds: itself as the only member, owning every
 * slot. Membership and placement replace it with committed views; the shape
 * (epoch, members, ranges, a change event) is what they will keep.
 */
export class LocalTopology extends EventEmitter<{ change: [Topology] }> {
  private current: Topology;

  constructor(self: LocalMember, caches: CacheRegistry) {
    super();
    const member: Member = { ...self, state: MemberState.ALIVE };
    this.current = {
      epoch: 1,
      members: [member],
      ranges: [{ start: 0, end: SLOT_COUNT - 1, replicas: [self.id] }],
      caches: caches.describe(),
    };
  }

  get epoch(): number {
    return this.current.epoch;
  }

  snapshot(): Topology {
    return this.current;
  }

  /** Replaces the member's advertised addresses (ports are known only after binding). */
  updateSelf(patch: Partial<LocalMember>): void {
    const [self] = this.current.members;
    this.current = {
      ...this.current,
      epoch: this.current.epoch + 1,
      members: [{ ...self!, ...patch }],
    };
    this.emit('change', this.current);
  }
}
