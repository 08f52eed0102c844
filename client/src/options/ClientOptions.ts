import type { ReconnectPolicy } from '../policies/ReconnectPolicy.js';
import type { RetryPolicy } from '../policies/RetryPolicy.js';
import { ExponentialBackoffPolicy } from '../policies/ExponentialBackoffPolicy.js';
import { IdempotentRetryPolicy } from '../policies/IdempotentRetryPolicy.js';
import type { Serializer } from '../serializers/Serializer.js';
import { jsonSerializer } from '../serializers/jsonSerializer.js';
import type { ConsistencyLevel } from './CallOptions.js';

/** Options of `createClient`. Only `url` is required; see `DEFAULT_CLIENT_OPTIONS`. */
export interface ClientOptions {
  /** `host:port` of one node's gRPC data plane (for example `localhost:7070`). Required. */
  url: string;
  /** Sent in the handshake; shows up in the node's logs and metrics. Default `meshcache-client`. */
  clientName?: string;
  /** Cache used by calls that name none. Default `default`. */
  defaultCache?: string;
  /** Default deadline of one call, in ms, queueing and reconnects included. Default 2000. */
  timeoutMs?: number;
  /** Deadline of one connect attempt (handshake), in ms. Default 5000. */
  connectTimeoutMs?: number;
  /**
   * Most operations waiting to be sent (while connecting, reconnecting, or
   * while the stream pushes back); beyond it calls fail at once with
   * `QUEUE_FULL`. Default 10000.
   */
  maxQueuedOps?: number;
  /** Most operations in one frame (the node's own limit, if lower, wins). Default 512. */
  maxOpsPerFrame?: number;
  /** Value codec. Default `jsonSerializer`. */
  serializer?: Serializer<unknown>;
  /** Consistency of calls that name none; `undefined` (default) leaves it to the cache. */
  defaultConsistency?: ConsistencyLevel | undefined;
  /** Delay between reconnect attempts. Default `new ExponentialBackoffPolicy()`. */
  reconnect?: ReconnectPolicy;
  /** Which in-flight operations are resent after a reconnect. Default `IdempotentRetryPolicy`. */
  retry?: RetryPolicy;
  /**
   * Granularity of deadlines, in ms: one shared sweeper runs this often while
   * operations are pending, so a call fails at most this much after its
   * deadline. Default 10.
   */
  deadlineResolutionMs?: number;
  /**
   * Wrap each call in an OpenTelemetry CLIENT span (`@opentelemetry/api`).
   * Without a registered SDK the spans are no-ops (about 20-30 ns a call).
   * Default true.
   */
  tracing?: boolean;
}

/** `ClientOptions` after defaults are merged and every field is checked. */
export interface ResolvedClientOptions {
  readonly url: string;
  readonly clientName: string;
  readonly defaultCache: string;
  readonly timeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly maxQueuedOps: number;
  readonly maxOpsPerFrame: number;
  readonly serializer: Serializer<unknown>;
  readonly defaultConsistency: ConsistencyLevel | undefined;
  readonly reconnect: ReconnectPolicy;
  readonly retry: RetryPolicy;
  readonly deadlineResolutionMs: number;
  readonly tracing: boolean;
}

/** The defaults of every optional field of {@link ClientOptions}. */
export const DEFAULT_CLIENT_OPTIONS: Readonly<Omit<ResolvedClientOptions, 'url'>> = Object.freeze({
  clientName: 'meshcache-client',
  defaultCache: 'default',
  timeoutMs: 2_000,
  connectTimeoutMs: 5_000,
  maxQueuedOps: 10_000,
  maxOpsPerFrame: 512,
  serializer: jsonSerializer,
  defaultConsistency: undefined,
  reconnect: new ExponentialBackoffPolicy(),
  retry: new IdempotentRetryPolicy(),
  deadlineResolutionMs: 10,
  tracing: true,
});
