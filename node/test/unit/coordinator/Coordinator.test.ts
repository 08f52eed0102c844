// The Coordinator over a real ReplicaSets whose slots move from {a, b, c} to
// {a, b, d} (factor 3) and from {a} to {b} (factor 1), with fake peers that
// answer as replicas (support/fakeCluster).
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from '@jest/globals';
import { Consistency, ErrorCode, keySlot, MemberState, OpType, ReplicaOpType } from '@meshcache/proto';
import { START_EPOCH, cluster, member } from './support/fakeCluster.js';

const text = (v: Uint8Array) => Buffer.from(v).toString('latin1');

describe('Coordinator: a slot moving from {a, b, c} to {a, b, d}', () => {
  it('a plain write reaches the old and the new set', async () => {
    const c = cluster();
    const r = await c.set('k', 'v');
    expect(r.code).toBe(ErrorCode.OK);
    await c.settle();
    for (const id of ['b', 'c', 'd']) expect(text(c.replica(id).holds('default:k')!.value)).toBe('v');
  });

  it('a write acknowledged by the old set only is not acknowledged', async () => {
    const c = cluster();
    // b (in both sets) and d stop answering writes: the old set has a + c, the new set only a.
    c.replica('b').silentApply = true;
    c.replica('d').silentApply = true;
    const r = await c.set('k', 'v', Consistency.QUORUM, 100);
    expect(r.code).toBe(ErrorCode.TIMEOUT);
    expect(r.message).toMatch(
      /2 of the 2 replicas it needs in \(a, b, c\) and 1 of the 2 replicas it needs in \(a, b, d\)/,
    );
    expect(text(c.replica('c').holds('default:k')!.value)).toBe('v');
  });

  it('reads take values from the old set only; the new member is asked its version', async () => {
    const c = cluster();
    c.replica('b').put('default:k', 'old', 10, 1);
    c.replica('c').put('default:k', 'old', 10, 1);
    c.replica('d').put('default:k', 'newer, not yet acknowledged', 20, 1);
    const r = await c.get('k', Consistency.ALL);
    expect(r.code).toBe(ErrorCode.OK);
    expect(text(r.value)).toBe('old');
    const reads = c.peers.log.filter((d) => d.request.type === ReplicaOpType.READ);
    expect(reads.map((d) => `${d.target}${d.request.versionOnly ? ' (version)' : ''}`)).toEqual([
      'b',
      'c',
      'd (version)',
    ]);
  });

  it("a read repair writes the winner to the new set's stale member before answering", async () => {
    const c = cluster();
    c.replica('b').put('default:k', 'v', 10, 1);
    c.replica('c').put('default:k', 'v', 10, 1);
    const r = await c.get('k', Consistency.ALL);
    expect(r.code).toBe(ErrorCode.OK);
    expect(text(r.value)).toBe('v');
    // Answered only once the new set held it at ALL: d has it already.
    expect(c.replica('d').holds('default:k')).toMatchObject({ hlc: 10, node: 1 });
    expect(c.sentTo('d', ReplicaOpType.APPLY)).toHaveLength(1);
    expect(c.coordinator.stats.readRepairs).toBeGreaterThanOrEqual(2); // this node's copy and d's
  });

  it('UNAVAILABLE, nothing sent, when the new set lacks live members; the message names the slot and the set', async () => {
    const members = [member('a'), member('b', MemberState.DEAD), member('c'), member('d', MemberState.DEAD)];
    const c = cluster({ members });
    const slot = keySlot(Buffer.from('k'));
    for (const r of [await c.set('k', 'v'), await c.get('k')]) {
      expect(r.code).toBe(ErrorCode.UNAVAILABLE);
      expect(r.message).toContain(`slot ${slot}`);
      expect(r.message).toContain('incoming set (a, b, d)');
    }
    expect(c.peers.log).toEqual([]);
    // The old set alone would do: a and c are live.
    const still = cluster({ members, pending: false });
    expect((await still.set('k', 'v')).code).toBe(ErrorCode.OK);
  });

  it('a node only in the new set forwards to the old set, primary first', async () => {
    const c = cluster({ self: 'd' });
    const r = await c.get('k');
    expect(r.code).toBe(ErrorCode.OK);
    expect(c.peers.log.map((d) => [d.target, d.request.type])).toEqual([['a', ReplicaOpType.COORDINATE]]);
  });
});

describe('Coordinator: STALE_EPOCH', () => {
  it('a plain write refused for a stale epoch runs again once the epoch advances, and succeeds', async () => {
    const c = cluster();
    c.replica('b').fence = START_EPOCH + 1;
    c.replica('d').fence = START_EPOCH + 1;
    const pending = c.set('k', 'v');
    await c.settle();
    // Refused by b and d; waiting for a newer epoch, nothing more is sent.
    expect(c.replica('d').refusals).toBe(1);
    const sentBefore = c.peers.log.length;
    await c.settle();
    expect(c.peers.log.length).toBe(sentBefore);

    c.source.commit(START_EPOCH + 1);
    const r = await pending;
    expect(r.code).toBe(ErrorCode.OK);
    expect(text(c.replica('d').holds('default:k')!.value)).toBe('v');
    const epochs = c.sentTo('d').map((d) => d.epoch);
    expect(epochs[0]).toBe(START_EPOCH);
    expect(epochs[epochs.length - 1]).toBe(START_EPOCH + 1);
  });

  it('waits for the epoch the refusal names, not just the next one', async () => {
    const c = cluster();
    c.replica('b').fence = START_EPOCH + 2;
    c.replica('d').fence = START_EPOCH + 2;
    c.replica('b').refusalNames = START_EPOCH + 2;
    c.replica('d').refusalNames = START_EPOCH + 2;
    const pending = c.set('k', 'v');
    await c.settle();
    c.source.commit(START_EPOCH + 1);
    await c.settle();
    expect(c.replica('d').refusals).toBe(1); // not retried at START_EPOCH + 1
    c.source.commit(START_EPOCH + 2);
    expect((await pending).code).toBe(ErrorCode.OK);
  });

  it('a read refused for a stale epoch runs again and answers the value', async () => {
    const c = cluster();
    c.replica('b').put('default:k', 'v', 10, 1);
    c.replica('c').put('default:k', 'v', 10, 1);
    c.replica('b').fence = START_EPOCH + 1;
    c.replica('c').fence = START_EPOCH + 1;
    let committed = false;
    c.peers.onRefusal = () => {
      if (committed) return;
      committed = true;
      c.source.commit(START_EPOCH + 1);
    };
    const r = await c.get('k');
    expect(r.code).toBe(ErrorCode.OK);
    expect(text(r.value)).toBe('v');
    expect(c.replica('b').refusals + c.replica('c').refusals).toBeGreaterThan(0);
  });

  it('gives up at the deadline when no newer epoch comes', async () => {
    const c = cluster();
    c.replica('b').fence = START_EPOCH + 1;
    c.replica('d').fence = START_EPOCH + 1;
    const deadline = performance.now() + 150;
    const r = await c.set('k', 'v', Consistency.QUORUM, 150);
    // It waited for the epoch until the deadline (timers may fire a little before performance.now() says).
    expect(performance.now()).toBeGreaterThanOrEqual(deadline - 10);
    expect(r.code).toBe(ErrorCode.UNAVAILABLE);
    expect(r.message).toMatch(/refused this node's epoch 2 and epoch 3 did not arrive before the deadline/);
    expect(c.replica('d').refusals).toBe(1);
    expect(c.coordinator.stats.operations.get('QUORUM|write|unavailable')).toBe(1);
  });

  it('a read-modify-write is never run twice: it returns the error', async () => {
    const c = cluster();
    c.replica('b').fence = START_EPOCH + 1;
    c.replica('d').fence = START_EPOCH + 1;
    let committed = false;
    // Its read does not need b; its write does, and the newer epoch comes right after that refusal.
    c.peers.onRefusal = (_target, request) => {
      if (committed || request.type !== ReplicaOpType.APPLY) return;
      committed = true;
      c.source.commit(START_EPOCH + 1);
    };
    const r = await c.run({ type: OpType.INCREMENT, key: Buffer.from('n'), delta: 1 });
    expect(committed).toBe(true);
    expect(r.code).toBe(ErrorCode.TIMEOUT);
    await c.settle();
    expect(c.sentTo('d', ReplicaOpType.APPLY)).toHaveLength(1);
    const store = c.caches.stores[0]!;
    const key = Buffer.from('n');
    expect(text(store.valueBuffer(store.versionAt(key, 0, key.length)))).toBe('1');
  });
});

describe('Coordinator: a single-copy cache', () => {
  const single = (c: ReturnType<typeof cluster>) => c.caches.indexOf('single');

  it('runs on the local fast path while its slot sits on this node', async () => {
    const c = cluster({ pending: false });
    expect(c.coordinator.isLocal(single(c), keySlot(Buffer.from('k')))).toBe(true);
    const r = await c.run({
      type: OpType.SET,
      cache: 'single',
      key: Buffer.from('k'),
      value: Buffer.from('v'),
    });
    expect(r.code).toBe(ErrorCode.OK);
    expect(c.peers.log).toEqual([]);
  });

  it('while its slot moves, writes reach the new owner and reads stay on this node', async () => {
    const c = cluster();
    expect(c.coordinator.isLocal(single(c), keySlot(Buffer.from('k')))).toBe(false);
    const w = await c.run(
      { type: OpType.SET, cache: 'single', key: Buffer.from('k'), value: Buffer.from('v') },
      Consistency.ONE,
    );
    expect(w.code).toBe(ErrorCode.OK);
    expect(text(c.replica('b').holds('single:k')!.value)).toBe('v');
    const sent = c.peers.log.length;
    const r = await c.run({ type: OpType.GET, cache: 'single', key: Buffer.from('k') }, Consistency.ONE);
    expect(text(r.value)).toBe('v');
    expect(c.peers.log.length).toBe(sent);
  });
});

describe('Coordinator: a node still filling a slot, and a stopping node', () => {
  it('a replica that has not filled the slot forwards instead of coordinating', async () => {
    const c = cluster({ pending: false, filled: () => false });
    const r = await c.get('k');
    expect(r.code).toBe(ErrorCode.OK);
    expect(c.peers.log.map((d) => [d.target, d.request.type])).toEqual([['b', ReplicaOpType.COORDINATE]]);
  });

  it('an operation forwarded to it answers NOT_READY, nothing applied', async () => {
    const c = cluster({ pending: false, filled: () => false });
    const r = await c.run(
      { type: OpType.SET, key: Buffer.from('k'), value: Buffer.from('v') },
      Consistency.QUORUM,
      1000,
      true,
    );
    expect(r.code).toBe(ErrorCode.NOT_READY);
    expect(c.peers.log).toEqual([]);
    expect(c.caches.get('default')!.get(Buffer.from('k'))).toBeLessThan(0);
  });

  it('a forwarder tries the next replica when one answers NOT_READY or SHUTTING_DOWN', async () => {
    const c = cluster({ self: 'd', pending: false });
    c.peers.coordinateCodes.set('a', ErrorCode.SHUTTING_DOWN);
    c.peers.coordinateCodes.set('b', ErrorCode.NOT_READY);
    const r = await c.get('k');
    expect(r.code).toBe(ErrorCode.OK);
    expect(c.peers.log.map((d) => d.target)).toEqual(['a', 'b', 'c']);
  });

  it('after stopCoordinating, forwarded operations answer SHUTTING_DOWN; its own still run', async () => {
    const c = cluster({ pending: false });
    c.coordinator.stopCoordinating();
    const forwarded = await c.run(
      { type: OpType.GET, key: Buffer.from('k') },
      Consistency.QUORUM,
      1000,
      true,
    );
    expect(forwarded.code).toBe(ErrorCode.SHUTTING_DOWN);
    expect((await c.get('k')).code).toBe(ErrorCode.OK);
  });
});
