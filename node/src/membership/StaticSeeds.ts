import type { SeedResolver } from './runtime.js';

/** A fixed list of gossip addresses. */
export class StaticSeeds implements SeedResolver {
  constructor(private readonly addresses: readonly string[]) {}

  get configured(): number {
    return this.addresses.length;
  }

  resolve(done: (addresses: string[]) => void): void {
    done([...this.addresses]);
  }
}
