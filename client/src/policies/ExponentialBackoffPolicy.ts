import { ErrorCodes } from '../errors/ErrorCodes.js';
import { MeshcacheError } from '../errors/MeshcacheError.js';
import type { ReconnectPolicy } from './ReconnectPolicy.js';

/** Delay of the first attempt, before jitter. */
export const BACKOFF_INITIAL_DELAY_MS = 50;
/** Each attempt waits this many times longer than the one before. */
export const BACKOFF_MULTIPLIER = 2;
/** No delay exceeds this, jitter included. */
export const BACKOFF_MAX_DELAY_MS = 5_000;
/** Each delay is spread uniformly over +-this fraction of its nominal value. */
export const BACKOFF_JITTER_FRACTION = 0.2;

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
 * +-jitterFraction, and never more than maxDelayMs. Never gives up.
 */
export class ExponentialBackoffPolicy implements ReconnectPolicy {
  readonly initialDelayMs: number;
  readonly multiplier: number;
  readonly maxDelayMs: number;
  readonly jitterFraction: number;
  private readonly random: () => number;

  constructor(options: ExponentialBackoffOptions = {}) {
    this.initialDelayMs = options.initialDelayMs ?? BACKOFF_INITIAL_DELAY_MS;
    this.multiplier = options.multiplier ?? BACKOFF_MULTIPLIER;
    this.maxDelayMs = options.maxDelayMs ?? BACKOFF_MAX_DELAY_MS;
    this.jitterFraction = options.jitterFraction ?? BACKOFF_JITTER_FRACTION;
    this.random = options.random ?? Math.random;
    check(Number.isFinite(this.initialDelayMs) && this.initialDelayMs > 0, 'initialDelayMs must be > 0');
    check(Number.isFinite(this.multiplier) && this.multiplier >= 1, 'multiplier must be >= 1');
    check(
      Number.isFinite(this.maxDelayMs) && this.maxDelayMs >= this.initialDelayMs,
      'maxDelayMs must be >= initialDelayMs',
    );
    check(this.jitterFraction > 0 && this.jitterFraction <= 1, 'jitterFraction must be in (0, 1]');
  }

  delayMs(attempt: number): number {
    const exponent = Math.max(0, Math.floor(attempt) - 1);
    const nominal = Math.min(this.maxDelayMs, this.initialDelayMs * Math.pow(this.multiplier, exponent));
    const spread = 1 + this.jitterFraction * (2 * this.random() - 1);
    return Math.min(this.maxDelayMs, Math.max(0, Math.round(nominal * spread)));
  }
}

function check(ok: boolean, rule: string): void {
  if (!ok) throw new MeshcacheError(ErrorCodes.INVALID_CONFIG, `ExponentialBackoffPolicy: ${rule}`);
}
