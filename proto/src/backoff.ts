/** How retries space out: capped exponential growth with jitter. */
export interface BackoffOptions {
  /** Delay of the first retry, before jitter. */
  initialDelayMs: number;
  /** Each retry waits this many times longer than the one before (>= 1). */
  multiplier: number;
  /** No delay exceeds this, jitter included. */
  maxDelayMs: number;
  /** Each delay is spread uniformly over +-this fraction of its nominal value, in (0, 1]. */
  jitterFraction: number;
}

export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = {
  initialDelayMs: 50,
  multiplier: 2,
  maxDelayMs: 5_000,
  jitterFraction: 0.2,
};

/**
 * The one backoff function of the project (client reconnects, node-to-node
 * streams, the operator's watches): attempt n (from 1) waits
 * min(maxDelayMs, initialDelayMs * multiplier^(n-1)) spread by
 * +-jitterFraction, never more than maxDelayMs. Jitter keeps many peers that
 * lost the same node from retrying in lockstep.
 */
export function backoffDelayMs(
  attempt: number,
  options: Readonly<BackoffOptions> = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  // Attempts below 1 (and NaN) count as the first.
  const exponent = attempt >= 1 ? Math.floor(attempt) - 1 : 0;
  // 1^Infinity is NaN in JS: a multiplier of 1 never grows, however many attempts.
  const growth = options.multiplier === 1 ? 1 : Math.pow(options.multiplier, exponent);
  const nominal = Math.min(options.maxDelayMs, options.initialDelayMs * growth);
  const spread = 1 + options.jitterFraction * (2 * random() - 1);
  return Math.min(options.maxDelayMs, Math.max(0, Math.round(nominal * spread)));
}

/** Why backoff options are unusable, or undefined when they are fine (validated once at each boundary). */
export function backoffProblem(o: Readonly<BackoffOptions>): string | undefined {
  if (!(Number.isFinite(o.initialDelayMs) && o.initialDelayMs > 0)) return 'initialDelayMs must be > 0';
  if (!(Number.isFinite(o.multiplier) && o.multiplier >= 1)) return 'multiplier must be >= 1';
  if (!(Number.isFinite(o.maxDelayMs) && o.maxDelayMs >= o.initialDelayMs)) {
    return 'maxDelayMs must be >= initialDelayMs';
  }
  if (!(o.jitterFraction > 0 && o.jitterFraction <= 1)) return 'jitterFraction must be in (0, 1]';
  return undefined;
}
