import { type ConsistencyLevel, type MeshcacheClient, MeshcacheError, type Version } from '@meshcache/client';
import type { History, Outcome } from '../history/index.js';

/**
 * How a failed call counts for the checker: `fail` only when the request
 * cannot have been applied (refused before anything was sent: UNAVAILABLE,
 * client-side refusals), `unknown` for everything else (TIMEOUT, a lost
 * connection: the write may still apply, at any later point).
 */
export function outcomeOf(err: unknown): Outcome {
  const code = err instanceof MeshcacheError ? err.code : '';
  switch (code) {
    case 'UNAVAILABLE':
    case 'NOT_READY':
    case 'CLOCK_SKEW':
    case 'NO_NODE_AVAILABLE':
    case 'QUEUE_FULL':
    case 'CLIENT_CLOSED':
    case 'KEY_TOO_LARGE':
    case 'VALUE_TOO_LARGE':
      return 'fail';
    default:
      return 'unknown';
  }
}

export interface WritersOptions {
  clients: readonly MeshcacheClient[];
  keys: readonly string[];
  writers: number;
  history: History;
  consistency: ConsistencyLevel;
  /** Writers stop when this returns true (checked before each write). */
  stop: () => boolean;
  /** Share of operations that delete instead of write (0..1). */
  deleteShare?: number;
  /** Share of operations that read (0..1), recorded for the checker. */
  readShare?: number;
  timeoutMs?: number;
}

export interface WritersReport {
  acked: number;
  failed: number;
  unknown: number;
  /** Acknowledged writes by the time each one completed (performance.now()), for rates. */
  ackTimes: number[];
  errorTimes: number[];
  errorCodes: Map<string, number>;
}

/**
 * Concurrent writers over shared keys, each value unique (`w<writer>-<n>`),
 * every call recorded in the history with the client's real-time order.
 * Writer i uses client i mod clients.length.
 */
export async function runWriters(o: WritersOptions): Promise<WritersReport> {
  const report: WritersReport = {
    acked: 0,
    failed: 0,
    unknown: 0,
    ackTimes: [],
    errorTimes: [],
    errorCodes: new Map(),
  };
  const opts = { consistency: o.consistency, timeoutMs: o.timeoutMs ?? 3000 };
  await Promise.all(
    Array.from({ length: o.writers }, async (_, w) => {
      const client = o.clients[w % o.clients.length]!;
      for (let n = 0; !o.stop(); n++) {
        const key = o.keys[Math.floor(Math.random() * o.keys.length)]!;
        const roll = Math.random();
        const kind =
          roll < (o.readShare ?? 0)
            ? 'read'
            : roll < (o.readShare ?? 0) + (o.deleteShare ?? 0)
              ? 'delete'
              : 'write';
        const value = `w${w}-${n}`;
        const handle =
          kind === 'write'
            ? o.history.invoke(`w${w}`, 'write', key, value)
            : o.history.invoke(`w${w}`, kind, key);
        try {
          if (kind === 'write') await client.set(key, value, opts);
          else if (kind === 'delete') await client.delete(key, opts);
          else {
            const got = await client.get<string>(key, opts);
            o.history.complete(handle, 'ok', got ?? null);
            continue;
          }
          o.history.complete(handle, 'ok');
          report.acked++;
          report.ackTimes.push(performance.now());
        } catch (err) {
          const outcome = outcomeOf(err);
          o.history.complete(handle, outcome);
          if (outcome === 'fail') report.failed++;
          else report.unknown++;
          report.errorTimes.push(performance.now());
          const code = err instanceof MeshcacheError ? err.code : String(err);
          report.errorCodes.set(code, (report.errorCodes.get(code) ?? 0) + 1);
          // A writer whose node is gone would spin on instant failures: pace it.
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    }),
  );
  return report;
}

/** Reads every key once through `client`, recording the reads in the history. */
export async function readAll(
  client: MeshcacheClient,
  keys: readonly string[],
  history: History,
  consistency: ConsistencyLevel,
): Promise<void> {
  for (const key of keys) {
    const h = history.invoke('final-reader', 'read', key);
    try {
      const got = await client.get<string>(key, { consistency, timeoutMs: 5000 });
      history.complete(h, 'ok', got ?? null);
    } catch (err) {
      history.complete(h, outcomeOf(err));
      throw err;
    }
  }
}

/** Options of one recorded call (see RecordingClient). */
export interface RecordedCallOptions {
  consistency: ConsistencyLevel;
  cache?: string;
  timeoutMs?: number;
}

/** A read as RecordingClient saw it: `value` and `version` only when the outcome is `ok`. */
export interface RecordedRead {
  outcome: Outcome;
  /** The value read, or null for "not found" (outcome `ok` only). */
  value?: string | null;
  /** The entry's version when found (outcome `ok` only). */
  version?: Version;
  error?: unknown;
}

/**
 * One logical client process: a client plus a process name, every call
 * recorded in the history (invoked right before the request, completed right
 * after the answer). Errors are recorded with outcomeOf and returned, not
 * thrown, so a scenario decides what an error means for it.
 */
export class RecordingClient {
  constructor(
    readonly history: History,
    readonly process: string,
    readonly client: MeshcacheClient,
  ) {}

  /**
   * A SET of a unique value. With `ttlMs`, the write is recorded with
   * expiresAtMs = invocation + ttlMs - `expirySlackMs` on the history's clock
   * (the node starts the TTL when it runs the write, never before the
   * invocation; the slack covers the node's wall clock against the recorder's).
   */
  async write(
    key: string,
    value: string,
    o: RecordedCallOptions & { ttlMs?: number; expirySlackMs?: number },
  ): Promise<{ outcome: Outcome; error?: unknown }> {
    const handle =
      o.ttlMs !== undefined && o.ttlMs > 0
        ? this.history.invoke(this.process, 'write', key, value, {
            expiresAtMs: this.history.now() + o.ttlMs - (o.expirySlackMs ?? 250),
          })
        : this.history.invoke(this.process, 'write', key, value);
    try {
      await this.client.set(key, value, {
        consistency: o.consistency,
        cache: o.cache,
        timeoutMs: o.timeoutMs ?? 3000,
        ttlMs: o.ttlMs,
      });
      this.history.complete(handle, 'ok');
      return { outcome: 'ok' };
    } catch (error) {
      const outcome = outcomeOf(error);
      this.history.complete(handle, outcome);
      return { outcome, error };
    }
  }

  async delete(key: string, o: RecordedCallOptions): Promise<{ outcome: Outcome; error?: unknown }> {
    const handle = this.history.invoke(this.process, 'delete', key);
    try {
      await this.client.delete(key, {
        consistency: o.consistency,
        cache: o.cache,
        timeoutMs: o.timeoutMs ?? 3000,
      });
      this.history.complete(handle, 'ok');
      return { outcome: 'ok' };
    } catch (error) {
      const outcome = outcomeOf(error);
      this.history.complete(handle, outcome);
      return { outcome, error };
    }
  }

  /** A GET (through getEntry, so the version comes back too). */
  async read(key: string, o: RecordedCallOptions): Promise<RecordedRead> {
    const handle = this.history.invoke(this.process, 'read', key);
    try {
      const entry = await this.client.getEntry<string>(key, {
        consistency: o.consistency,
        cache: o.cache,
        timeoutMs: o.timeoutMs ?? 3000,
      });
      const value = entry === undefined ? null : entry.value;
      this.history.complete(handle, 'ok', value);
      return entry === undefined
        ? { outcome: 'ok', value }
        : { outcome: 'ok', value, version: entry.version };
    } catch (error) {
      const outcome = outcomeOf(error);
      this.history.complete(handle, outcome);
      return { outcome, error };
    }
  }
}
