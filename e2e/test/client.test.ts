// End-to-end: @meshcache/client against a real meshcache-node process on loopback.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createClient, type MeshcacheClient, MeshcacheError, rawSerializer } from '@meshcache/client';
import { NodeProcess } from '../src/NodeProcess.js';
import { waitFor } from '../src/waitFor.js';

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(MeshcacheError);
    return (err as MeshcacheError).code;
  }
  throw new Error('expected the call to fail');
}

describe('client against a real node', () => {
  let node: NodeProcess;
  let client: MeshcacheClient;

  beforeAll(async () => {
    node = await NodeProcess.start({
      args: ['--max-key-bytes', '128', '--caches', '[{name: default, maxValueBytes: 4Ki}, {name: other}]'],
    });
    client = createClient({ url: node.grpcAddress, clientName: 'e2e' });
    await client.connect();
  });

  afterAll(async () => {
    await client?.close();
    await node?.stop();
  });

  it('covers the whole API', async () => {
    expect(await client.set('k', { a: 1 })).toBe(true);
    expect(await client.get('k')).toEqual({ a: 1 });
    expect(await client.get('missing')).toBeUndefined();
    expect(await client.set('k', 'x', { condition: 'ifAbsent' })).toBe(false);
    expect(await client.set('new', 'x', { condition: 'ifPresent' })).toBe(false);
    expect(await client.set('k', 'b', { condition: 'ifPresent', ttlMs: 60_000 })).toBe(true);
    const entry = await client.getEntry<string>('k');
    expect(entry!.value).toBe('b');
    expect(entry!.ttlMs).toBeGreaterThan(50_000);
    expect(await client.compareAndSet('k', entry!.version, 'c')).toBe(true);
    expect(await client.compareAndSet('k', entry!.version, 'd')).toBe(false);
    expect(await client.get('k')).toBe('c');
    expect(await client.incr('n')).toBe(1);
    expect(await client.incr('n', 41)).toBe(42);
    expect(await client.incr('n', -2)).toBe(40);
    expect(
      await client.setMany([
        { key: 'm1', value: 1 },
        { key: 'm2', value: 2, ttlMs: 60_000 },
      ]),
    ).toBe(2);
    expect(await client.getMany(['m1', 'nope', 'm2'])).toEqual([1, undefined, 2]);
    expect(await client.touch('m1', 60_000)).toBe(true);
    expect((await client.getEntry('m1'))!.ttlMs).toBeGreaterThan(50_000);
    expect(await client.delete('m1')).toBe(true);
    expect(await client.delete('m1')).toBe(false);
    expect(await client.set('k', 'in other', { cache: 'other' })).toBe(true);
    expect(await client.get('k', { cache: 'other' })).toBe('in other');
    const pong = await client.ping();
    expect(pong.nodeId).toBe(node.id);
    expect(client.epoch).toBeGreaterThan(0);
  });

  it('batches calls issued in the same tick into few frames', async () => {
    const framesBefore = await framesTotal(node);
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => client.set(`batch-${i}`, i)));
    expect(results.every(Boolean)).toBe(true);
    const frames = (await framesTotal(node)) - framesBefore;
    expect(frames).toBeGreaterThanOrEqual(1);
    expect(frames).toBeLessThanOrEqual(2);
  });

  it('maps server errors to stable codes and keeps working', async () => {
    expect(await codeOf(client.get('x'.repeat(129)))).toBe('KEY_TOO_LARGE');
    expect(await codeOf(client.set('big', 'x'.repeat(5000)))).toBe('VALUE_TOO_LARGE');
    expect(await codeOf(client.get('k', { cache: 'nope' }))).toBe('UNKNOWN_CACHE');
    await client.set('text', 'hello');
    expect(await codeOf(client.incr('text'))).toBe('NOT_AN_INTEGER');
    expect(await client.get('k')).toBe('c');
  });

  it('honours AbortSignal and rejects a bad TTL before sending', async () => {
    const controller = new AbortController();
    controller.abort();
    expect(await codeOf(client.get('k', { signal: controller.signal }))).toBe('CANCELLED');
    expect(await codeOf(client.set('k', 'v', { ttlMs: -7 }))).toMatch(/INVALID_TTL|INVALID_ARGUMENT/);
  });

  it('reads raw bytes with the raw serializer, interoperable with the JSON one', async () => {
    const raw = createClient({ url: node.grpcAddress, serializer: rawSerializer });
    try {
      await raw.set('bytes', Buffer.from([0, 1, 2, 255]));
      expect(await raw.get<Buffer>('bytes')).toEqual(Buffer.from([0, 1, 2, 255]));
      await client.set('json', { z: true });
      expect((await raw.get<Buffer>('json'))!.toString()).toBe('{"z":true}');
    } finally {
      await raw.close();
    }
  });
});

describe('client reconnect', () => {
  it('reconnects with backoff when the node comes back on the same port, and serves queued calls', async () => {
    let node = await NodeProcess.start({ id: 'reconnect-a' });
    const port = node.grpcPort;
    const client = createClient({ url: node.grpcAddress, timeoutMs: 20_000 });
    try {
      expect(await client.set('before', 1)).toBe(true);
      expect(await node.stop()).toBe(0);
      await waitFor(() => client.state !== 'ready', { what: 'client to notice the node left' });
      // Issued while the node is down: queued, then sent once the client reconnects.
      const pending = client.set('during', 2);
      node = await NodeProcess.start({ id: 'reconnect-b', args: ['--grpc-port', String(port)] });
      expect(await pending).toBe(true);
      expect(await client.get('during')).toBe(2);
      // A fresh node is empty: the value from before the restart is gone, as it should be.
      expect(await client.get('before')).toBeUndefined();
    } finally {
      await client.close();
      await node.stop();
    }
  });
});

async function framesTotal(node: NodeProcess): Promise<number> {
  const text = await (await fetch(`${node.adminUrl}/metrics`)).text();
  const m = /^meshcache_frames_total\{[^}]*\} (\d+)/m.exec(text);
  return Number(m![1]);
}
