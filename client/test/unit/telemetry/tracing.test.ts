// Uses FakeCacheNode, an in-process TEST DOUBLE of a meshcache node (a minimal
// grpc-js server over a Map); the real node is written in node/, and
// end-to-end tests against it live in e2e/. The tracer provider below is a
// minimal recording stand-in for an OpenTelemetry SDK (the client depends on
// @opentelemetry/api only).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  type Attributes,
  type AttributeValue,
  INVALID_SPAN_CONTEXT,
  type Span,
  type SpanKind,
  type SpanOptions,
  type SpanStatus,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import { createClient } from '../../../src/createClient.js';
import type { MeshcacheClient } from '../../../src/MeshcacheClient.js';
import { FakeCacheNode } from '../support/FakeCacheNode.js';

interface RecordedSpan {
  name: string;
  kind: SpanKind | undefined;
  attributes: Attributes;
  status: SpanStatus | undefined;
  exceptions: unknown[];
  ended: boolean;
}

const recorded: RecordedSpan[] = [];

function recordingSpan(name: string, options: SpanOptions | undefined): Span {
  const record: RecordedSpan = {
    name,
    kind: options?.kind,
    attributes: { ...options?.attributes },
    status: undefined,
    exceptions: [],
    ended: false,
  };
  recorded.push(record);
  const span: Span = {
    spanContext: () => INVALID_SPAN_CONTEXT,
    setAttribute: (key: string, value: AttributeValue) => ((record.attributes[key] = value), span),
    setAttributes: (attributes: Attributes) => (Object.assign(record.attributes, attributes), span),
    addEvent: () => span,
    addLink: () => span,
    addLinks: () => span,
    setStatus: (status: SpanStatus) => ((record.status = status), span),
    updateName: () => span,
    end: () => void (record.ended = true),
    isRecording: () => !record.ended,
    recordException: (exception: unknown) => void record.exceptions.push(exception),
  };
  return span;
}

const tracer = {
  startSpan: (name: string, options?: SpanOptions) => recordingSpan(name, options),
  startActiveSpan: () => {
    throw new Error('not used by the client');
  },
} as unknown as Tracer;
const provider: TracerProvider = { getTracer: () => tracer };

describe('tracing', () => {
  const node = new FakeCacheNode({ nodeId: 'traced' });
  let client: MeshcacheClient;

  beforeAll(async () => {
    trace.setGlobalTracerProvider(provider);
    await node.start();
    client = createClient({ url: node.address });
    await client.connect();
  });

  afterAll(async () => {
    await client.close();
    node.stop();
    trace.disable();
  });

  beforeEach(() => {
    recorded.length = 0;
  });

  it('wraps each call in an ended CLIENT span with database attributes', async () => {
    await client.set('t', 1);
    await client.get('t', { cache: 'default' });
    expect(recorded.map((s) => s.name)).toEqual(['meshcache set', 'meshcache get']);
    expect(recorded.every((s) => s.ended && s.kind === 2 /* CLIENT */)).toBe(true);
    expect(recorded[1]!.attributes).toEqual({
      'db.system.name': 'meshcache',
      'db.operation.name': 'get',
      'db.namespace': 'default',
    });
  });

  it('records failures with the error code', async () => {
    await client.get('t', { cache: 'missing' }).catch(() => undefined);
    const [span] = recorded;
    expect(span!.ended).toBe(true);
    expect(span!.status).toMatchObject({ code: 2 /* ERROR */ });
    expect(span!.attributes['error.type']).toBe('UNKNOWN_CACHE');
    expect(span!.exceptions).toHaveLength(1);
  });

  it('starts no span when tracing is off', async () => {
    const quiet = createClient({ url: node.address, tracing: false });
    try {
      await quiet.get('t');
      expect(recorded).toHaveLength(0);
    } finally {
      await quiet.close();
    }
  });
});
