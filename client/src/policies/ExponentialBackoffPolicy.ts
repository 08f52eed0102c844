import { type BackoffOptions, DEFAULT_BACKOFF, backoffDelayMs, backoffProblem } from '@meshcache/proto';
import { ErrorCodes } from '../errors/ErrorCodes.js';
import { MeshcacheError } from '../errors/MeshcacheError.js';
import type { ReconnectPolicy } from './ReconnectPolicy.js';

/** Delay of the first attempt, before jitter. */
export const BACKOFF_INITIAL_DELAY_MS = DEFAULT_BACKOFF.initialDelayMs;
/** Each attempt waits this many times longer than the one before. */
export const BACKOFF_MULTIPLIER = DEFAULT_BACKOFF.multiplier;
/** No delay exceeds this, jitter included. */
export const BACKOFF_MAX_DELAY_MS = DEFAULT_BACKOFF.maxDelayMs;
/** Each delay is spread uniformly over +-this fraction of its nominal value. */
export const BACKOFF_JITTER_FRACTION = DEFAULT_BACKOFF.jitterFraction;

export interface ExponentialBackoffOptions {
  initialDelayMs?: number;
  multiplier?: number;
  maxDelayMs?: number;
  /** In (0, 1]: jitter is always applied. */
  jitterFraction?: number;
  /** Uniform [0, 1) source, for tests. */
  random?: () => number;
}

/**
 * Exponential backoff, capped and jittered: attempt n waits
 * `min(maxDelayMs, initialDelayMs * multiplier^(n-1))` spread by
 * +-jitterFraction, and never more than maxDelayMs. Never gives up. The
 * arithmetic is the project's one backoff function (`backoffDelayMs` in
 * @meshcache/proto).
 */
export class ExponentialBackoffPolicy implements ReconnectPolicy {
  readonly initialDelayMs: number;
  readonly multiplier: number;
  readonly maxDelayMs: number;
  readonly jitterFraction: number;
  private readonly options: Readonly<BackoffOptions>;
  private readonly random: () => number;

  constructor(options: ExponentialBackoffOptions = {}) {
    this.initialDelayMs = options.initialDelayMs ?? BACKOFF_INITIAL_DELAY_MS;
    this.multiplier = options.multiplier ?? BACKOFF_MULTIPLIER;
    this.maxDelayMs = options.maxDelayMs ?? BACKOFF_MAX_DELAY_MS;
    this.jitterFraction = options.jitterFraction ?? BACKOFF_JITTER_FRACTION;
    this.random = options.random ?? Math.random;
    this.options = Object.freeze({
      initialDelayMs: this.initialDelayMs,
      multiplier: this.multiplier,
      maxDelayMs: this.maxDelayMs,
      jitterFraction: this.jitterFraction,
    });
    const problem = backoffProblem(this.options);
    if (problem !== undefined) {
      throw new MeshcacheError(ErrorCodes.INVALID_CONFIG, `ExponentialBackoffPolicy: ${problem}`);
    }
  }

  delayMs(attempt: number): number {
    return backoffDelayMs(attempt, this.options, this.random);
  }
}
