// Uses FakeCacheNode, an in-process TEST DOUBLE of a meshcache node (a minimal
// grpc-js server over a Map); the real node is written in node/, and
// end-to-end tests against it live in e2e/.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ErrorCode } from '@meshcache/proto';
import { createClient } from '../../../src/createClient.js';
import { ErrorCodes } from '../../../src/errors/ErrorCodes.js';
import type { MeshcacheError } from '../../../src/errors/MeshcacheError.js';
import type { MeshcacheClient } from '../../../src/MeshcacheClient.js';
import { FakeCacheNode } from '../support/FakeCacheNode.js';
import { failureOf } from '../support/failureOf.js';
import { waitFor } from '../support/waitFor.js';

describe('frame-level errors', () => {
  const node = new FakeCacheNode({ epoch: 3 });
  let client: MeshcacheClient;

  beforeAll(async () => {
    await node.start();
    client = createClient({ url: node.address, deadlineResolutionMs: 5 });
    await client.connect();
  });

  afterAll(async () => {
    await client.close();
    node.stop();
  });

  it('fails the ops whose ids the error frame lists', async () => {
    node.nextFrameError = { code: ErrorCode.BATCH_TOO_LARGE, message: 'frame too big', listIds: true };
    const results = await Promise.all(
      [client.get('a'), client.get('b')].map((p) => p.catch((e: unknown) => e)),
    );
    for (const err of results)
      expect(err).toMatchObject({ code: ErrorCodes.BATCH_TOO_LARGE, message: 'frame too big' });
    await expect(client.get('a')).resolves.toBeUndefined(); // the stream stays open
  });

  it('fails the only unanswered frame when the error names no ids', async () => {
    node.nextFrameError = { code: ErrorCode.MALFORMED_FRAME, message: 'bad frame', listIds: false };
    const results = await Promise.all(
      [client.get('a'), client.set('b', 1)].map((p) => p.catch((e: unknown) => e)),
    );
    for (const err of results)
      expect(err).toMatchObject({ code: ErrorCodes.MALFORMED_FRAME, retryable: false });
    await expect(client.get('a')).resolves.toBeUndefined();
  });

  it('leaves ops to their deadline when it cannot tell which frame (error as cause)', async () => {
    node.hold = true;
    const first = client.get('held', { timeoutMs: 2_000 });
    await waitFor(() => node.held.length === 1, 2_000, 'the first frame to be held');
    node.nextFrameError = { code: ErrorCode.MALFORMED_FRAME, message: 'bad frame', listIds: false };
    const err = await failureOf(client.get('unknown', { timeoutMs: 100 }));
    expect(err.code).toBe(ErrorCodes.TIMEOUT);
    expect((err.cause as MeshcacheError).code).toBe(ErrorCodes.MALFORMED_FRAME);
    node.release();
    await expect(first).resolves.toBeUndefined();
  });
});
