import { Consistency, ErrorCode } from '@meshcache/proto';

/** Replica ack latency buckets, seconds (node-to-node on one network: sub-millisecond to seconds). */
export const ACK_LATENCY_BUCKETS_SECONDS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];

export type Outcome = 'ok' | 'unavailable' | 'timeout' | 'error';

const LEVELS = [Consistency.ONE, Consistency.QUORUM, Consistency.ALL];

/** The coordinator's counters, read by /metrics (no prom-client object on the hot path). */
export class ReplicationStats {
  /** Coordinated operations by level, kind and outcome: `${level}|${kind}|${outcome}` -> count. */
  readonly operations = new Map<string, number>();
  restamps = 0;
  readRepairs = 0;
  forwarded = 0;
  readonly ackBuckets = new Float64Array(ACK_LATENCY_BUCKETS_SECONDS.length + 1);
  ackCount = 0;
  ackSum = 0;

  record(level: Consistency, kind: 'read' | 'write', code: ErrorCode): void {
    const outcome: Outcome =
      code === ErrorCode.OK
        ? 'ok'
        : code === ErrorCode.UNAVAILABLE
          ? 'unavailable'
          : code === ErrorCode.TIMEOUT
            ? 'timeout'
            : 'error';
    const key = `${LEVELS.includes(level) ? Consistency[level] : 'QUORUM'}|${kind}|${outcome}`;
    this.operations.set(key, (this.operations.get(key) ?? 0) + 1);
  }

  observeAck(seconds: number): void {
    let i = 0;
    while (i < ACK_LATENCY_BUCKETS_SECONDS.length && seconds > ACK_LATENCY_BUCKETS_SECONDS[i]!) i++;
    this.ackBuckets[i]!++;
    this.ackCount++;
    this.ackSum += seconds;
  }
}
