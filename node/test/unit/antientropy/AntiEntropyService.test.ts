// AntiEntropyService over FakeReplica stores, a fake placement and an
// in-process transport that goes through the same request/reply adapters as
// the replica streams (replicaTransport and antiEntropyRequests), so who may
// start, continue and be credited for a round is checked end to end.
import { describe, expect, it } from '@jest/globals';
import { ErrorCode, keySlot, type ReplicaReply, type ReplicaRequest, SLOT_COUNT } from '@meshcache/proto';
import { DEFAULT_ANTI_ENTROPY_OPTIONS } from '../../../src/antientropy/AntiEntropyOptions.js';
import {
  AntiEntropyCall,
  AntiEntropyService,
  type AntiEntropyPlacement,
} from '../../../src/antientropy/AntiEntropyService.js';
import { antiEntropyRequests, replicaTransport } from '../../../src/antientropy/replicaTransport.js';
import {
  AnswerStatus,
  encodeDigestsRequest,
  encodeSlotsRequest,
  MessageKind,
  openAnswer,
} from '../../../src/antientropy/wire.js';
import { SeededRandom } from '../../../src/membership/SeededRandom.js';
import { FakeReplica, ManualScheduler } from './support/fakeReplica.js';

const T0 = 1_700_000_000_000;
const GRACE = 600_000;
const CACHE = 'c';
const RF = 3;
const options = {
  ...DEFAULT_ANTI_ENTROPY_OPTIONS,
  antiEntropyMinIntervalMs: 1000,
  antiEntropyMaxIntervalMs: 8000,
  antiEntropyScanWork: 64,
};
const quietLog = { info: () => {}, warn: () => {}, debug: () => {} };

/** A placement every node reads: replicas per slot, pending and filled slots per node, liveness. */
class Placement {
  table = true;
  readonly replicas: string[][] = [];
  readonly pending = new Set<number>();
  readonly unfilled = new Map<string, Set<number>>();
  readonly down = new Set<string>();

  constructor(public members: string[]) {
    for (let s = 0; s < SLOT_COUNT; s++) this.replicas.push(members.slice(0, RF));
  }

  of(self: string): AntiEntropyPlacement {
    return {
      hasTable: () => this.table,
      replicas: (_rf, slot) => (this.table ? this.replicas[slot]! : []),
      holds: (_rf, slot, id) => this.table && this.replicas[slot]!.includes(id),
      isPending: (_rf, slot) => this.pending.has(slot),
      isFilled: (_rf, slot) => !(this.unfilled.get(self)?.has(slot) ?? false),
      isLive: (id) => !this.down.has(id),
      peers: () => this.members.filter((m) => m !== self),
    };
  }
}

interface Net {
  services: Map<string, AntiEntropyService>;
  stores: Map<string, FakeReplica>;
  placement: Placement;
  scheduler: ManualScheduler;
  /** Requests sent, as `from>to:level`. */
  sent: string[];
  /** Per node: the most of its requests that awaited an answer at once. */
  mostInFlight: Map<string, number>;
  /** Advances the virtual clock by `ms` in steps, letting rounds run between them. */
  pass(ms: number): Promise<void>;
  svc(id: string): AntiEntropyService;
}

async function turns(n = 200): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
}

function network(ids: string[], maxConcurrentRounds?: number, random?: () => number): Net {
  const scheduler = new ManualScheduler();
  const placement = new Placement(ids);
  const services = new Map<string, AntiEntropyService>();
  const stores = new Map<string, FakeReplica>();
  const sent: string[] = [];
  const inFlight = new Map<string, number>();
  const mostInFlight = new Map<string, number>();
  const wallClock = () => T0 + scheduler.now();
  const handlers = new Map(ids.map((id) => [id, antiEntropyRequests(() => services.get(id), 64 << 20)]));
  ids.forEach((id, i) => {
    const store = new FakeReplica(wallClock, i * 0x9e3779b9);
    stores.set(id, store);
    const transport = replicaTransport({
      timeoutMs: 60_000,
      send: (
        peer: string,
        request: ReplicaRequest,
        done: (r: ReplicaReply | undefined, sent: boolean) => void,
      ) => {
        sent.push(`${id}>${peer}:${request.level}`);
        const n = (inFlight.get(id) ?? 0) + 1;
        inFlight.set(id, n);
        mostInFlight.set(id, Math.max(n, mostInFlight.get(id) ?? 0));
        // Answers come back on a later turn, as over a stream.
        const answer = (r: ReplicaReply) =>
          setImmediate(() => {
            inFlight.set(id, inFlight.get(id)! - 1);
            done(r, true);
          });
        const reply = emptyReply(request.id);
        // Bytes copied across, as a stream would; the sender is the stream's hello id.
        const copy = { ...request, value: Buffer.from(request.value) };
        if (handlers.get(peer)!.handle(id, copy, reply, answer)) answer(reply);
      },
    });
    services.set(
      id,
      new AntiEntropyService({
        nodeId: id,
        options,
        tombstoneGraceMs: GRACE,
        caches: [{ name: CACHE, replicationFactor: RF, store }],
        placement: placement.of(id),
        transport,
        wallClock,
        random: random !== undefined ? { next: random } : new SeededRandom(i + 7),
        scheduler,
        yieldTurn: () => Promise.resolve(),
        log: quietLog,
        ...(maxConcurrentRounds !== undefined ? { maxConcurrentRounds } : {}),
      }),
    );
  });
  return {
    services,
    stores,
    placement,
    scheduler,
    sent,
    mostInFlight,
    svc: (id) => services.get(id)!,
    async pass(ms) {
      for (let t = 0; t < ms; t += 100) {
        scheduler.advance(100);
        await turns(20);
      }
    },
  };
}

function emptyReply(id: number): ReplicaReply {
  return {
    id,
    code: ErrorCode.OK,
    message: '',
    hlc: 0,
    node: 0,
    tombstone: false,
    value: Buffer.alloc(0),
    expiresAtMs: 0,
    result: undefined,
    entries: [],
    cursor: 0,
    done: false,
    epoch: 0,
    payload: Buffer.alloc(0),
    estimatedItems: 0,
  };
}

function seed(net: Net, n: number): void {
  for (const store of net.stores.values()) {
    for (let i = 0; i < n; i++) store.put(`k${i}`, `v${i}`, { hlc: 1000 + i });
  }
}

function startAll(net: Net): void {
  for (const s of net.services.values()) s.start();
}

function value(store: FakeReplica, key: string): string | undefined {
  const item = store.get(key);
  if (item === undefined || item.tombstone) return undefined;
  return item.bytes.subarray(item.key.length).toString();
}

describe('AntiEntropyService', () => {
  it('runs rounds only from the smaller id of each pair, and repairs every pair within the maximum interval', async () => {
    const net = network(['a', 'b', 'c']);
    seed(net, 200);
    startAll(net);
    net.stores.get('c')!.put('k7', 'newer on c', { hlc: 5000 });
    net.stores.get('b')!.put('only-b', 'x', { hlc: 5001 });

    await net.pass(options.antiEntropyMaxIntervalMs);

    for (const id of ['a', 'b', 'c']) {
      expect({ id, k7: value(net.stores.get(id)!, 'k7') }).toEqual({ id, k7: 'newer on c' });
      expect({ id, onlyB: value(net.stores.get(id)!, 'only-b') }).toEqual({ id, onlyB: 'x' });
    }
    const starters = new Set(net.sent.map((s) => s.slice(0, s.indexOf('>'))));
    expect([...starters].sort()).toEqual(['a', 'b']);
    expect(net.sent.filter((s) => s.startsWith('b>a'))).toEqual([]);
    expect(net.svc('a').stats.rounds).toBeGreaterThan(0);
    expect(net.svc('c').stats.rounds).toBe(0);
    expect(net.svc('c').stats.roundsServed).toBeGreaterThan(0);
    // Each node's ledger holds rounds with both its peers, whichever side ran them.
    for (const id of ['a', 'b', 'c']) {
      const peers = net
        .svc(id)
        .coveredRounds()
        .map((r) => r.peer)
        .sort();
      expect({ id, peers }).toEqual({ id, peers: ['a', 'b', 'c'].filter((p) => p !== id) });
    }
    for (const s of net.services.values()) s.stop();
  });

  it('compares only the slots both replicate, not moving, and filled on each side', async () => {
    const net = network(['a', 'b', 'c', 'd']);
    const p = net.placement;
    const moving = keySlot('k1');
    const notOnB = keySlot('k2');
    const unfilledOnB = keySlot('k3');
    const unfilledOnA = keySlot('k4');
    p.pending.add(moving);
    p.replicas[notOnB] = ['a', 'c', 'd'];
    p.unfilled.set('b', new Set([unfilledOnB]));
    p.unfilled.set('a', new Set([unfilledOnA]));
    const shared = net.svc('a').sharedSlots(CACHE, 'b');
    expect([moving, notOnB, unfilledOnA].map((s) => shared[s])).toEqual([0, 0, 0]);
    expect(shared[unfilledOnB]).toBe(1); // a does not know b's fill state: b narrows the round
    expect(shared.reduce((n, x) => n + x, 0)).toBe(SLOT_COUNT - 3);
    expect(net.svc('b').sharedSlots(CACHE, 'a')[unfilledOnB]).toBe(0);
    expect(net.svc('a').sharedSlots('other', 'b').includes(1)).toBe(false);
    p.table = false;
    expect(net.svc('a').sharedSlots(CACHE, 'b').includes(1)).toBe(false);
    p.table = true;

    // A divergence in each excluded slot stays; one in an ordinary slot is repaired.
    for (const store of net.stores.values()) {
      for (const k of ['k1', 'k2', 'k3', 'k4', 'k5']) store.put(k, 'old', { hlc: 10 });
    }
    const b = net.stores.get('b')!;
    for (const k of ['k1', 'k2', 'k3', 'k4', 'k5']) b.put(k, 'new', { hlc: 20 });
    net.services.get('a')!.start();
    await net.pass(2 * options.antiEntropyMinIntervalMs);
    const a = net.stores.get('a')!;
    expect(['k1', 'k2', 'k3', 'k4', 'k5'].map((k) => value(a, k))).toEqual([
      'old',
      'old',
      'old',
      'old',
      'new',
    ]);
    // The round was narrowed to what b had filled: b's ledger credits a only with those.
    const onB = net
      .svc('b')
      .coveredRounds()
      .find((r) => r.peer === 'a')!;
    expect(onB.slots).toBe(SLOT_COUNT - 4);
    net.svc('a').stop();
  });

  it('lets the ledger purge a tombstone only once rounds with every current replica started after it was written', async () => {
    const net = network(['a', 'b', 'c']);
    seed(net, 10);
    const slot = keySlot('k1');
    const writtenAt = T0 + 50;
    expect(net.svc('a').mayPurge(CACHE, slot, writtenAt)).toBe(false);
    net.svc('a').start();
    // a runs rounds with b and c; b and c never start one, so b's only round is with a.
    await net.pass(2 * options.antiEntropyMinIntervalMs);
    expect(net.svc('a').mayPurge(CACHE, slot, writtenAt)).toBe(true);
    expect(net.svc('b').mayPurge(CACHE, slot, writtenAt)).toBe(false); // no round with c yet
    expect(net.svc('b').stats.tombstonePurgesBlocked).toBe(1);
    net.svc('b').start();
    await net.pass(2 * options.antiEntropyMinIntervalMs);
    expect(net.svc('b').mayPurge(CACHE, slot, writtenAt)).toBe(true);
    expect(net.svc('c').mayPurge(CACHE, slot, writtenAt)).toBe(true);
    // Written after the latest rounds started: not yet.
    expect(net.svc('a').mayPurge(CACHE, slot, T0 + net.scheduler.now() + 1)).toBe(false);
    // A peer that leaves the view is forgotten: should it come back, it must be covered again.
    net.placement.members = ['a', 'b'];
    net.svc('a').refresh();
    net.placement.members = ['a', 'b', 'c'];
    net.svc('a').refresh();
    expect(
      net
        .svc('a')
        .coveredRounds()
        .map((r) => r.peer),
    ).toEqual(['b']);
    expect(net.svc('a').mayPurge(CACHE, slot, writtenAt)).toBe(false);
    // Without a committed table the replicas are unknown: never.
    net.placement.table = false;
    expect(net.svc('c').mayPurge(CACHE, slot, writtenAt)).toBe(false);
    for (const s of net.services.values()) s.stop();
  });

  it('does not ask a peer that is not live, and backs off to the maximum interval', async () => {
    const net = network(['a', 'b']);
    seed(net, 10);
    net.placement.down.add('b');
    net.svc('a').start();
    await net.pass(4 * options.antiEntropyMaxIntervalMs);
    expect(net.sent).toEqual([]);
    const loop = (net.svc('a').info() as { loops: { intervalMs: number; last: { error?: string } }[] })
      .loops[0]!;
    expect(loop.intervalMs).toBe(options.antiEntropyMaxIntervalMs);
    expect(loop.last.error).toBe('peer is not live');
    net.placement.down.clear();
    await net.pass(options.antiEntropyMaxIntervalMs + 200);
    expect(net.svc('a').stats.rounds).toBe(1);
    net.svc('a').stop();
  });

  it.each([
    [undefined, 1],
    [3, 3],
  ])('runs maxConcurrentRounds %s rounds at a time (most seen: %s)', async (max, most) => {
    // Every delay drawn the same: the three rounds are due at the same instant.
    const net = network(['a', 'b', 'c', 'd'], max, () => 0.5);
    net.placement.replicas.fill(['a', 'b', 'c', 'd']); // a shares every slot with each of the three
    seed(net, 50);
    const svc = net.svc('a');
    svc.start();
    await net.pass(options.antiEntropyMinIntervalMs);
    expect(svc.stats.rounds).toBeGreaterThanOrEqual(3);
    // A round awaits one request at a time: requests in flight at once are rounds at once.
    expect(net.mostInFlight.get('a')).toBe(most);
    svc.stop();
  });
});

describe('anti-entropy over the replica request adapters', () => {
  it('refuses a round begun under another node name, and a session continued by another node', async () => {
    const net = network(['a', 'b', 'c']);
    seed(net, 5);
    const handler = antiEntropyRequests(() => net.svc('b'), 64 << 20);
    const ask = (sender: string, level: number, value: Uint8Array) =>
      new Promise<ReplicaReply>((resolve) => {
        const reply = emptyReply(1);
        const request = {
          type: 7,
          level,
          cache: CACHE,
          value: Buffer.from(value),
        } as unknown as ReplicaRequest;
        if (handler.handle(sender, request, reply, resolve)) resolve(reply);
      });
    const digests = encodeDigestsRequest({
      roundId: 'a/1/x',
      from: 'a',
      cache: CACHE,
      seed: new Int32Array(4),
      cutoffMs: T0,
      tombstoneHorizonMs: 0,
      leafSlots: 64,
      slots: new Uint8Array(SLOT_COUNT).fill(1),
      root: new Uint8Array(16),
    });
    const forged = await ask('c', AntiEntropyCall.DIGESTS, digests);
    expect(forged.code).toBe(ErrorCode.OK);
    expect(() => openAnswer(forged.payload, MessageKind.DIGESTS_ANSWER)).toThrow(
      'round from a arrived from c',
    );
    const begun = await ask('a', AntiEntropyCall.DIGESTS, digests);
    openAnswer(begun.payload, MessageKind.DIGESTS_ANSWER);
    expect(net.svc('b').responder.activeRounds).toBe(1);
    // The slot digests of a's round, asked for by c: no such round for c.
    const slots = encodeSlotsRequest({ roundId: 'a/1/x', ranges: [0] });
    const byC = await ask('c', AntiEntropyCall.SLOTS, slots);
    expect(() => openAnswer(byC.payload, MessageKind.SLOTS_ANSWER)).toThrow(/no round a\/1\/x/);
    try {
      openAnswer(byC.payload, MessageKind.SLOTS_ANSWER);
    } catch (err) {
      expect((err as { status: number }).status).toBe(AnswerStatus.UNKNOWN_ROUND);
    }
    const unknownLevel = await ask('a', 9, digests);
    expect(unknownLevel.code).toBe(ErrorCode.INVALID_ARGUMENT);
    net.svc('b').stop();
  });

  it('answers UNAVAILABLE when anti-entropy is off, and BATCH_TOO_LARGE for an answer over a frame', async () => {
    const reply = emptyReply(1);
    const off = antiEntropyRequests(() => undefined, 64 << 20);
    expect(
      off.handle('a', { level: 0, value: Buffer.alloc(0) } as unknown as ReplicaRequest, reply, () => {}),
    ).toBe(true);
    expect(reply.code).toBe(ErrorCode.UNAVAILABLE);

    const net = network(['a', 'b']);
    for (let i = 0; i < 2000; i++) net.stores.get('b')!.put(`big${i}`, 'x'.repeat(100), { hlc: 1 + i });
    const tiny = antiEntropyRequests(() => net.svc('b'), 64 * 1024 + 1024 + 1000);
    const request = {
      level: 0,
      cache: CACHE,
      value: Buffer.from(
        encodeDigestsRequest({
          roundId: 'a/1/y',
          from: 'a',
          cache: CACHE,
          seed: new Int32Array(4),
          cutoffMs: T0,
          tombstoneHorizonMs: 0,
          leafSlots: 1, // 16 bytes per slot of range digests: well over 1000 bytes
          slots: new Uint8Array(SLOT_COUNT).fill(1),
          root: new Uint8Array(16),
        }),
      ),
    } as unknown as ReplicaRequest;
    const big = await new Promise<ReplicaReply>((resolve) => {
      const r = emptyReply(2);
      if (tiny.handle('a', request, r, resolve)) resolve(r);
    });
    expect(big.code).toBe(ErrorCode.BATCH_TOO_LARGE);
    expect(big.payload.length).toBe(0);
    net.svc('b').stop();
  });

  it('fails a request whose answer is lost, refused or late', async () => {
    const answers: ((r: ReplicaReply | undefined) => void)[] = [];
    const t = replicaTransport({ timeoutMs: 50, send: (_p, _r, done) => answers.push((r) => done(r, true)) });
    const lost = t.request('b', AntiEntropyCall.PUSH, CACHE, new Uint8Array(1));
    answers.shift()!(undefined);
    await expect(lost).rejects.toThrow('request to b lost');
    const refused = t.request('b', AntiEntropyCall.PUSH, CACHE, new Uint8Array(1));
    answers.shift()!({ ...emptyReply(1), code: ErrorCode.UNAVAILABLE, message: 'off' });
    await expect(refused).rejects.toThrow('b refused: off');
    const late = t.request('b', AntiEntropyCall.PUSH, CACHE, new Uint8Array(1));
    await expect(late).rejects.toThrow('no answer from b within 50 ms');
    answers.shift()!(emptyReply(1)); // arrives after the deadline: ignored
  });
});
