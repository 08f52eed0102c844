import { ErrorCodes } from '../errors/ErrorCodes.js';
import { MeshcacheError } from '../errors/MeshcacheError.js';
import type { ConsistencyLevel } from './CallOptions.js';
import { type ClientOptions, DEFAULT_CLIENT_OPTIONS, type ResolvedClientOptions } from './ClientOptions.js';

const KNOWN_FIELDS: ReadonlySet<string> = new Set(['url', ...Object.keys(DEFAULT_CLIENT_OPTIONS)]);
const CONSISTENCY_LEVELS: readonly ConsistencyLevel[] = ['ONE', 'QUORUM', 'ALL'];
const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/;

/**
 * Merges `DEFAULT_CLIENT_OPTIONS` into `options` and checks every field, once.
 * A failed check throws `MeshcacheError` with code `INVALID_CONFIG` naming the
 * field and the rule.
 */
export function resolveClientOptions(options: ClientOptions): ResolvedClientOptions {
  if (options === null || typeof options !== 'object') {
    fail(`options must be an object, got ${describe(options)}`);
  }
  for (const field of Object.keys(options)) {
    if (!KNOWN_FIELDS.has(field)) fail(`unknown option '${field}'`);
  }
  const merged = { ...DEFAULT_CLIENT_OPTIONS, ...withoutUndefined(options) } as ResolvedClientOptions;

  const url = merged.url as unknown;
  if (typeof url !== 'string') fail(`url must be a 'host:port' string, got ${describe(url)}`);
  const match = HOST_PORT.exec(url);
  const port = match ? Number(match[2]) : 0;
  if (!match || port < 1 || port > 65535) {
    fail(`url must be 'host:port' with a port in 1..65535, got ${describe(url)}`);
  }
  nonEmptyString(merged, 'clientName');
  nonEmptyString(merged, 'defaultCache');
  positiveInteger(merged, 'timeoutMs');
  positiveInteger(merged, 'connectTimeoutMs');
  positiveInteger(merged, 'maxQueuedOps');
  positiveInteger(merged, 'maxOpsPerFrame');
  positiveInteger(merged, 'deadlineResolutionMs');
  if (typeof merged.tracing !== 'boolean') fail(`tracing must be a boolean, got ${describe(merged.tracing)}`);
  if (merged.defaultConsistency !== undefined && !CONSISTENCY_LEVELS.includes(merged.defaultConsistency)) {
    fail(`defaultConsistency must be one of ONE, QUORUM, ALL, got ${describe(merged.defaultConsistency)}`);
  }
  hasMethods(merged, 'serializer', ['serialize', 'deserialize']);
  hasMethods(merged, 'reconnect', ['delayMs']);
  hasMethods(merged, 'retry', ['retryAfterConnectionLoss']);
  return Object.freeze(merged);
}

function withoutUndefined(options: ClientOptions): Partial<ClientOptions> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) out[key] = value;
  }
  return out as Partial<ClientOptions>;
}

function nonEmptyString(o: ResolvedClientOptions, field: keyof ResolvedClientOptions): void {
  const value = o[field] as unknown;
  if (typeof value !== 'string' || value.length === 0) {
    fail(`${field} must be a non-empty string, got ${describe(value)}`);
  }
}

function positiveInteger(o: ResolvedClientOptions, field: keyof ResolvedClientOptions): void {
  const value = o[field] as unknown;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    fail(`${field} must be a positive integer, got ${describe(value)}`);
  }
}

function hasMethods(o: ResolvedClientOptions, field: keyof ResolvedClientOptions, methods: string[]): void {
  const value = o[field] as unknown;
  const ok =
    value !== null &&
    typeof value === 'object' &&
    methods.every((m) => typeof (value as Record<string, unknown>)[m] === 'function');
  if (!ok) fail(`${field} must be an object with ${methods.join(' and ')} methods, got ${describe(value)}`);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  return typeof value;
}

function fail(message: string): never {
  throw new MeshcacheError(ErrorCodes.INVALID_CONFIG, message);
}
