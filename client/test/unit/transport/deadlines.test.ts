// Uses FakeCacheNode, an in-process TEST DOUBLE of a meshcache node (a minimal
// grpc-js server over a Map); the real node is written in node/, and
// end-to-end tests against it live in e2e/.
import { getEventListeners } from 'node:events';
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { createClient } from '../../../src/createClient.js';
import { ErrorCodes } from '../../../src/errors/ErrorCodes.js';
import type { MeshcacheClient } from '../../../src/MeshcacheClient.js';
import { FakeCacheNode } from '../support/FakeCacheNode.js';
import { failureOf } from '../support/failureOf.js';
import { waitFor } from '../support/waitFor.js';

describe('deadlines and cancellation', () => {
  const node = new FakeCacheNode();
  let client: MeshcacheClient;

  beforeAll(async () => {
    await node.start();
    client = createClient({ url: node.address, timeoutMs: 2_000, deadlineResolutionMs: 5 });
    await client.connect();
  });

  afterAll(async () => {
    await client.close();
    node.stop();
  });

  afterEach(() => {
    jest.restoreAllMocks();
    node.hold = false;
    node.dropHeld();
  });

  it('fails expired calls with TIMEOUT without creating a timer per call', async () => {
    node.hold = true;
    const setTimeoutSpy = jest.spyOn(globalThis, 'setTimeout');
    const setIntervalSpy = jest.spyOn(globalThis, 'setInterval');
    const started = performance.now();
    const calls = Array.from({ length: 300 }, (_, i) => failureOf(client.get(`t${i}`, { timeoutMs: 60 })));
    const timersWhileIssuing = setTimeoutSpy.mock.calls.length + setIntervalSpy.mock.calls.length;
    const errors = await Promise.all(calls);
    const elapsed = performance.now() - started;
    expect(timersWhileIssuing).toBeLessThanOrEqual(1); // at most the shared sweeper's interval
    expect(errors.every((e) => e.code === ErrorCodes.TIMEOUT && e.retryable)).toBe(true);
    expect(errors[0]!.message).toContain('timed out after 60 ms');
    expect(elapsed).toBeGreaterThanOrEqual(59);
    expect(elapsed).toBeLessThan(1_000);
    expect(node.held).toHaveLength(300);
  });

  it('drops late results of timed-out calls', async () => {
    node.hold = true;
    await expect(client.set('late', 1, { timeoutMs: 20 })).rejects.toMatchObject({
      code: ErrorCodes.TIMEOUT,
    });
    node.release(); // the set is applied and its result arrives after the deadline
    await expect(client.get('late')).resolves.toBe(1);
  });

  it('cancels an in-flight call at once when its signal aborts, and removes its listener', async () => {
    node.hold = true;
    const controller = new AbortController();
    const call = client.get('c', { signal: controller.signal });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    await waitFor(() => node.held.length === 1, 2_000, 'the op to reach the node');
    const started = performance.now();
    controller.abort(new Error('user gave up'));
    const err = await failureOf(call);
    expect(performance.now() - started).toBeLessThan(100);
    expect(err.code).toBe(ErrorCodes.CANCELLED);
    expect(err.message).toContain('user gave up');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('removes the abort listener when a call completes normally', async () => {
    const controller = new AbortController();
    await client.set('ok', 1, { signal: controller.signal });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    controller.abort();
  });

  it('does not send a call whose signal is already aborted', async () => {
    const before = node.opsReceived;
    await expect(client.get('x', { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: ErrorCodes.CANCELLED,
    });
    await client.get('sync'); // a later call goes through, and the aborted one never did
    expect(node.opsReceived).toBe(before + 1);
  });

  it('cancels a queued call before it is sent', async () => {
    const offline = createClient({ url: '127.0.0.1:1', timeoutMs: 5_000 });
    try {
      const controller = new AbortController();
      const call = offline.get('q', { signal: controller.signal });
      controller.abort();
      await expect(call).rejects.toMatchObject({ code: ErrorCodes.CANCELLED });
    } finally {
      await offline.close();
    }
  });
});
