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
  return tracer.startSpan(`meshcache ${operation}`, {
    kind: SpanKind.CLIENT,
    attributes: {
      'db.system.name': 'meshcache',
      'db.operation.name': operation,
      'db.namespace': cache,
    },
  });
}

/** Ends a call span, recording the error when there is one. */
export function endCallSpan(span: Span, err: Error | undefined): void {
  if (err !== undefined && span.isRecording()) {
    span.recordException(err);
    span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
    if (err instanceof MeshcacheError) span.setAttribute('error.type', err.code);
  }
  span.end();
}
