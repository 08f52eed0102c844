import { backoffDelayMs } from '@meshcache/proto';

/**
 * Exponential backoff for watch restarts, on the project's one backoff
 * function: attempt n waits uniformly within [nominal/2, nominal] with
 * nominal = min(maxMs, baseMs * 2^(n-1)) (attempt 1 -> [base/2, base]). The
 * options put that range around a centre of 3/4 nominal with +-1/3 jitter. At
 * the cap the shared function's clamp makes it [max/2, 3max/4]: no restart
 * waits longer than 3/4 of maxMs, and half of the capped ones wait exactly
 * that.
 */
export function jitteredBackoffMs(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  return backoffDelayMs(
    attempt,
    { initialDelayMs: 0.75 * baseMs, multiplier: 2, maxDelayMs: 0.75 * maxMs, jitterFraction: 1 / 3 },
    random,
  );
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
