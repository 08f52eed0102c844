/**
 * What the membership core needs from the world, injected so the same code
 * runs over real UDP/TCP and timers in a node, and over a simulated network
 * with a virtual clock in the simulator. Nothing in the core reads the wall
 * clock, arms a real timer or draws a random number by itself.
 */

/** A pending callback; cancelling twice or after it ran is harmless. */
export interface Timer {
  cancel(): void;
}

export interface Scheduler {
  /** Milliseconds on a monotonic clock. */
  now(): number;
  /** Runs `fn` once, `delayMs` from now (0 = as soon as possible, never synchronously). */
  schedule(delayMs: number, fn: () => void): Timer;
}

/** A source of uniform numbers in [0, 1). */
export interface Random {
  next(): number;
}

/**
 * Sends messages to `host:port` gossip addresses. Packets are unreliable and
 * bounded in size (UDP); streams are one message each, delivered whole or not
 * at all (a TCP connection per message). Both may silently fail.
 */
export interface Transport<P, S> {
  sendPacket(to: string, messages: readonly P[]): void;
  sendStream(to: string, message: S): void;
}

/** Resolves the configured seeds into gossip addresses (static list or DNS names). */
export interface SeedResolver {
  /**
   * How many seeds are configured. With none a node forms its own cluster at
   * once; with some that resolve to nothing yet (a headless Service before its
   * pods have addresses), it waits and resolves again.
   */
  readonly configured: number;
  resolve(done: (addresses: string[]) => void): void;
}

/** Integer in [0, n). */
export function randomInt(random: Random, n: number): number {
  return Math.floor(random.next() * n);
}

/** Fisher-Yates, in place. */
export function shuffle<T>(random: Random, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(random, i + 1);
    const t = items[i]!;
    items[i] = items[j]!;
    items[j] = t;
  }
  return items;
}

/** `delay` scaled by a factor drawn uniformly from [1 - spread, 1]. */
export function jitter(random: Random, delay: number, spread = 0.5): number {
  return delay * (1 - spread * random.next());
}
