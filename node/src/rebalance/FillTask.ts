import {
  ErrorCode,
  type ReplicaEntry,
  ReplicaOpType,
  type ReplicaReply,
  type ReplicaRequest,
  type ScanPurpose,
} from '@meshcache/proto';
import { toBitmap } from './slotBitmap.js';

/** Where a fill task stands. */
export type FillState = 'waiting' | 'running' | 'done' | 'cancelled';

/** What a fill task needs from the node (injected so a test can drive it). */
export interface FillHost {
  /** Whether a member is worth asking now (live, stream up). */
  reachable(id: string): boolean;
  /** Sends a SCAN; `done` gets the reply, or undefined when the stream failed. */
  send(target: string, request: ReplicaRequest, done: (reply: ReplicaReply | undefined) => void): void;
  newRequest(): ReplicaRequest;
  /** Sizes a cache's index for `keys` more keys for task `task` (a stream in key-hash order packs an undersized one). */
  reserve(task: string, cache: string, keys: number): void;
  /** Merges one entry into the local store (newest version wins); false if the store refused it. */
  apply(cache: string, entry: ReplicaEntry): boolean;
  /** Waits until `bytes` more may be moved under the throttle. */
  throttle(bytes: number): Promise<void>;
  /** Waits before retrying a source that failed (the project's backoff). */
  retryDelay(attempt: number): Promise<void>;
  readonly batchBytes: number;
  readonly requestTimeoutMs: number;
}

/** What one task moved, for progress and metrics. */
export interface FillProgress {
  keys: number;
  bytes: number;
  sourcesMerged: number;
  startedAt: number;
  finishedAt: number;
}

/** How a task ended: filled from `merged` sources, or with every other replica empty/bootstrapping (`lost`). */
export interface FillOutcome {
  merged: number;
  lost: boolean;
}

/**
 * Fills a group of slots of one replication factor on this node by merging
 * the copies of `need` source replicas, each scanned over every cache of the
 * factor (versions, absolute expiries and tombstones; the store keeps the
 * newest version per key, so merging in any order gives the same result).
 * A source that fails midway is retried from where it stopped; a source
 * that is not live any more is replaced by the next candidate, which resumes
 * from the same key-hash cursor (keys below it were merged from the one it
 * replaces, so every key still comes from `need` replicas). A source that
 * answers NOT_READY (it restarted empty too, or has not installed the move's
 * epoch) is skipped; if no candidate had data, the slots complete empty
 * (`lost`): every copy is gone, and waiting would deadlock a full restart.
 * A candidate that is not reachable keeps the task waiting: it may come back.
 */
export class FillTask {
  state: FillState = 'waiting';
  /** A task that could not finish waits until then before it runs again (performance.now ms). */
  blockedUntil = 0;
  /** Candidates unreachable in the last run (why it waits). */
  unreachable: string[] = [];
  /** Sources merged in full (across runs). */
  private readonly merged = new Set<string>();
  /** Where the next source resumes after one was lost midway. */
  private resume: { cache: number; cursor: number } | undefined;
  readonly progress: FillProgress = { keys: 0, bytes: 0, sourcesMerged: 0, startedAt: 0, finishedAt: 0 };
  private readonly bitmap: Buffer;

  constructor(
    readonly key: string,
    readonly rf: number,
    readonly purpose: ScanPurpose,
    readonly since: number,
    /** Slot mask (one byte per slot). */
    readonly slots: Uint8Array,
    readonly caches: readonly string[],
    /** Replicas to merge from, in preference order (never this node). */
    readonly candidates: readonly string[],
    readonly need: number,
    private readonly host: FillHost,
  ) {
    this.bitmap = toBitmap(slots);
  }

  get cancelled(): boolean {
    return this.state === 'cancelled';
  }

  cancel(): void {
    if (this.state !== 'done') this.state = 'cancelled';
  }

  /**
   * Runs to completion. Resolves with the outcome, or undefined when the task
   * was cancelled or cannot finish now (a candidate unreachable; the caller
   * runs it again later). What it merged stays merged across runs: sources
   * already merged are not scanned again, and a source lost midway leaves
   * the position the next one resumes from.
   */
  async run(now: () => number): Promise<FillOutcome | undefined> {
    this.state = 'running';
    if (this.progress.startedAt === 0) this.progress.startedAt = now();
    let unreachable = 0;
    this.unreachable = [];
    for (const source of this.candidates) {
      if (this.merged.size >= this.need) break;
      if (this.merged.has(source)) continue;
      if (!this.host.reachable(source)) {
        unreachable++;
        this.unreachable.push(source);
        continue;
      }
      const r = await this.scanSource(source, this.resume ?? { cache: 0, cursor: 0 });
      if (this.cancelled) return undefined;
      if (r.ok) {
        this.merged.add(source);
        this.resume = undefined;
      } else if (r.refused) {
        unreachable++;
        this.unreachable.push(source);
      } else if (!r.notReady) {
        // Gone midway: the next candidate carries on from the same position.
        unreachable++;
        this.unreachable.push(source);
        this.resume = r.at;
      }
    }
    if (this.merged.size < this.need && unreachable > 0) {
      this.state = 'waiting';
      return undefined;
    }
    this.state = 'done';
    this.progress.finishedAt = now();
    this.progress.sourcesMerged = this.merged.size;
    return { merged: this.merged.size, lost: this.merged.size === 0 };
  }

  /** Scans every cache of the factor on one source, from position `from` (a cache and a cursor in it). */
  private async scanSource(
    source: string,
    from: { cache: number; cursor: number },
  ): Promise<{ ok: boolean; notReady: boolean; refused?: boolean; at: { cache: number; cursor: number } }> {
    for (let c = from.cache; c < this.caches.length; c++) {
      const cache = this.caches[c]!;
      let cursor = c === from.cache ? from.cursor : 0;
      let attempt = 0;
      for (;;) {
        if (this.cancelled) return { ok: false, notReady: false, at: { cache: c, cursor } };
        const reply = await this.request(source, cache, cursor);
        if (reply === undefined || reply.code === ErrorCode.TIMEOUT || reply.code === ErrorCode.UNAVAILABLE) {
          if (!this.host.reachable(source) || attempt >= 5) {
            return { ok: false, notReady: false, at: { cache: c, cursor } };
          }
          await this.host.retryDelay(attempt++);
          continue;
        }
        // NOT_READY: it has not filled the slots itself (it restarted empty too): not a source.
        if (reply.code === ErrorCode.NOT_READY)
          return { ok: false, notReady: true, at: { cache: 0, cursor: 0 } };
        // Any other refusal (it has not installed the move's epoch yet, or does not hold the
        // slots as this node's view says): not evidence of missing data. Wait, and plan again.
        if (reply.code !== ErrorCode.OK) return { ok: false, notReady: false, refused: true, at: from };
        attempt = 0;
        if (cursor === 0 && reply.estimatedItems > 0)
          this.host.reserve(this.key, cache, reply.estimatedItems);
        let bytes = 0;
        for (const e of reply.entries) {
          this.host.apply(cache, e);
          bytes += e.key.length + e.value.length + 32;
        }
        this.progress.keys += reply.entries.length;
        this.progress.bytes += bytes;
        if (reply.done) break;
        cursor = reply.cursor;
        await this.host.throttle(bytes);
      }
    }
    return { ok: true, notReady: false, at: { cache: 0, cursor: 0 } };
  }

  private request(source: string, cache: string, cursor: number): Promise<ReplicaReply | undefined> {
    const request = this.host.newRequest();
    request.type = ReplicaOpType.SCAN;
    request.cache = cache;
    request.slots = this.bitmap;
    request.cursor = cursor;
    request.maxBytes = this.host.batchBytes;
    request.purpose = this.purpose;
    request.since = this.since;
    request.replicationFactor = this.rf;
    request.timeoutMs = this.host.requestTimeoutMs;
    return new Promise((resolve) => this.host.send(source, request, resolve));
  }
}
