import { type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { MeshcacheError } from '../errors/MeshcacheError.js';

/** The tracer of this package; a no-op until the application registers an SDK. */
const tracer = trace.getTracer('@meshcache/client');

/**
 * Starts the CLIENT span of one call (`meshcache <operation>`), with the
 * database semantic-convention attributes. Ended by {@link endCallSpan} when
 * the call settles.
 */
export function startCallSpan(operation: string, cache: string): Span {
  const span = tracer.startSpan(SPAN_NAMES.get(operation) ?? `meshcache ${operation}`, SPAN_OPTIONS);
  if (span.isRecording()) {
    // Attributes only when an SDK records the span: a no-op span costs no allocation here.
    span.setAttribute('db.system.name', 'meshcache');
    span.setAttribute('db.operation.name', operation);
    span.setAttribute('db.namespace', cache);
  }
  return span;
}

const SPAN_OPTIONS = Object.freeze({ kind: SpanKind.CLIENT });
const SPAN_NAMES = new Map<string, string>(
  ['get', 'getEntry', 'set', 'delete', 'compareAndSet', 'touch', 'incr', 'getMany', 'setMany'].map((op) => [
    op,
    `meshcache ${op}`,
  ]),
);

/** Ends a call span, recording the error when there is one. */
export function endCallSpan(span: Span, err: Error | undefined): void {
  if (err !== undefined && span.isRecording()) {
    span.recordException(err);
    span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
    if (err instanceof MeshcacheError) span.setAttribute('error.type', err.code);
  }
  span.end();
}
