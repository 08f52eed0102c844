// Uses FakeCacheNode, an in-process TEST DOUBLE of a meshcache node (a minimal
// grpc-js server over a Map); the real node is written in node/, and
// end-to-end tests against it live in e2e/.
import { afterEach, describe, expect, it } from '@jest/globals';
import { ErrorCode } from '@meshcache/proto';
import { createClient } from '../../../src/createClient.js';
import { ErrorCodes } from '../../../src/errors/ErrorCodes.js';
import { MeshcacheError } from '../../../src/errors/MeshcacheError.js';
import { NoNodeAvailableError } from '../../../src/errors/NoNodeAvailableError.js';
import type { MeshcacheClient } from '../../../src/MeshcacheClient.js';
import type { ClientOptions } from '../../../src/options/ClientOptions.js';
import { ExponentialBackoffPolicy } from '../../../src/policies/ExponentialBackoffPolicy.js';
import type { ReconnectPolicy } from '../../../src/policies/ReconnectPolicy.js';
import { FakeCacheNode } from '../support/FakeCacheNode.js';
import { waitFor } from '../support/waitFor.js';

const fastBackoff = new ExponentialBackoffPolicy({ initialDelayMs: 5, maxDelayMs: 50 });

describe('reconnect', () => {
  const nodes: FakeCacheNode[] = [];
  const clients: MeshcacheClient[] = [];

  async function startNode(port = 0): Promise<FakeCacheNode> {
    const node = new FakeCacheNode();
    await node.start(port);
    nodes.push(node);
    return node;
  }

  function connect(url: string, options: Partial<ClientOptions> = {}): MeshcacheClient {
    const client = createClient({ url, reconnect: fastBackoff, timeoutMs: 5_000, ...options });
    clients.push(client);
    return client;
  }

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    for (const node of nodes.splice(0)) node.stop();
  });

  it('resends idempotent in-flight ops after reconnecting and fails the others with CONNECTION_LOST', async () => {
    const node = await startNode();
    const client = connect(node.address);
    await client.set('a', 'A');
    await client.set('n', 5);
    node.hold = true;
    const get = client.get('a');
    const plainSet = client.set('b', 'B');
    const del = client.delete('zz');
    const incr = client.incr('n').catch((e: unknown) => e);
    const nx = client.set('c', 'C', { condition: 'ifAbsent' }).catch((e: unknown) => e);
    const cas = client
      .compareAndSet('a', { physicalMs: 1, logical: 1, node: 1 }, 'X')
      .catch((e: unknown) => e);
    await waitFor(() => node.held.length === 6, 2_000, 'six held ops');
    node.hold = false;
    node.dropHeld();
    node.killStreams();

    for (const lost of [await incr, await nx, await cas]) {
      expect(lost).toBeInstanceOf(MeshcacheError);
      expect(lost).toMatchObject({ code: ErrorCodes.CONNECTION_LOST, retryable: true });
    }
    await expect(get).resolves.toBe('A');
    await expect(plainSet).resolves.toBe(true);
    await expect(del).resolves.toBe(false);
    expect(node.handshakes).toBe(2);
    expect(await client.get('b')).toBe('B');
    expect(await client.get('n')).toBe(5); // the increment was never applied
  });

  it('queues calls while the node is down and sends them once it is back', async () => {
    const node = await startNode();
    const port = node.port;
    const client = connect(node.address);
    await client.set('k', 1);
    node.stop();
    await waitFor(() => client.state !== 'ready', 2_000, 'the client to notice');
    const pending = [client.set('k', 2), client.get('k')];
    const restarted = await startNode(port);
    await expect(Promise.all(pending)).resolves.toEqual([true, 2]);
    expect(restarted.handshakes).toBe(1);
    expect(client.state).toBe('ready');
  });

  it('fails queued calls with TIMEOUT (the connection error as cause) when the node stays down', async () => {
    const client = connect('127.0.0.1:1', { timeoutMs: 100 });
    const err = (await client.get('k').catch((e: unknown) => e)) as MeshcacheError;
    expect(err.code).toBe(ErrorCodes.TIMEOUT);
    expect(err.message).toContain('queued for 127.0.0.1:1');
    expect(err.cause).toBeInstanceOf(MeshcacheError);
    expect((err.cause as MeshcacheError).code).toBe(ErrorCodes.CONNECTION_LOST);
  });

  it('fails fast with QUEUE_FULL beyond maxQueuedOps', async () => {
    const client = connect('127.0.0.1:1', { maxQueuedOps: 3, timeoutMs: 200 });
    const queued = [1, 2, 3].map((i) => client.get(`q${i}`).catch((e: unknown) => e));
    await expect(client.get('q4')).rejects.toMatchObject({ code: ErrorCodes.QUEUE_FULL, retryable: true });
    for (const e of await Promise.all(queued)) expect(e).toMatchObject({ code: ErrorCodes.TIMEOUT });
  });

  it('gives up when the reconnect policy says so, with a cause per node', async () => {
    let attempts = 0;
    const twice: ReconnectPolicy = { delayMs: (attempt) => (++attempts, attempt <= 2 ? 1 : undefined) };
    const client = connect('127.0.0.1:1', { reconnect: twice });
    const err = (await client.get('k').catch((e: unknown) => e)) as NoNodeAvailableError;
    expect(err).toBeInstanceOf(NoNodeAvailableError);
    expect(err.code).toBe(ErrorCodes.NO_NODE_AVAILABLE);
    expect(err.causes.get('127.0.0.1:1')).toBeInstanceOf(Error);
    expect(attempts).toBe(3);
    expect(client.state).toBe('failed');
    await expect(client.get('again')).rejects.toMatchObject({ code: ErrorCodes.NO_NODE_AVAILABLE });
  });

  it('fails queued calls when the node refuses the protocol, and keeps trying', async () => {
    const node = await startNode();
    node.handshakeCode = ErrorCode.UNSUPPORTED_PROTOCOL;
    const client = connect(node.address);
    await expect(client.get('k')).rejects.toMatchObject({ code: ErrorCodes.UNSUPPORTED_PROTOCOL });
    node.handshakeCode = ErrorCode.OK;
    await expect(client.get('k')).resolves.toBeUndefined();
  });

  it('re-handshakes with a new session after the stream is lost', async () => {
    const node = await startNode();
    const client = connect(node.address);
    await client.connect();
    await waitFor(() => node.streamCount === 1, 2_000, 'the stream to reach the node');
    node.killStreams();
    await waitFor(() => node.handshakes === 2 && client.state === 'ready', 2_000, 'a second handshake');
    await expect(client.set('after', 1)).resolves.toBe(true);
  });
});

describe('close', () => {
  it('rejects queued and in-flight calls with CLIENT_CLOSED and ends the stream', async () => {
    const node = new FakeCacheNode();
    await node.start();
    try {
      const client = createClient({ url: node.address });
      await client.connect();
      node.hold = true;
      const inFlight = client.get('a').catch((e: unknown) => e);
      await waitFor(() => node.held.length === 1, 2_000, 'the op to reach the node');
      const queuedBehind = client.get('b').catch((e: unknown) => e);
      await client.close();
      expect(await inFlight).toMatchObject({ code: ErrorCodes.CLIENT_CLOSED, retryable: false });
      expect(await queuedBehind).toMatchObject({ code: ErrorCodes.CLIENT_CLOSED });
      await expect(client.get('c')).rejects.toMatchObject({ code: ErrorCodes.CLIENT_CLOSED });
      expect(client.state).toBe('closed');
      await waitFor(() => node.streamCount === 0, 2_000, 'the stream to end');
      await client.close(); // idempotent
    } finally {
      node.stop();
    }
  });

  it('closes a client that never connected', async () => {
    const client = createClient({ url: '127.0.0.1:1' });
    const call = client.get('k').catch((e: unknown) => e);
    await client.close();
    expect(await call).toMatchObject({ code: ErrorCodes.CLIENT_CLOSED });
    await expect(client.get('k')).rejects.toMatchObject({ code: ErrorCodes.CLIENT_CLOSED });
    await expect(client.connect()).rejects.toMatchObject({ code: ErrorCodes.CLIENT_CLOSED });
  });
});
