// Bad input on the transfer path while a real join transfers data. Targets
// pull a pending slot's data with SCAN (purpose TRANSFER) and report it with
// FILLED; a SCAN from a node that is not a target of the slot, for an epoch
// the slot is not pending since, or with a malformed slot bitmap is refused
// (INVALID_ARGUMENT) and counted (scansRefused); a FILLED from an intruder
// cuts nothing over; the real transfer completes with every key intact.
import { afterAll, describe, expect, it, jest } from '@jest/globals';
import { createClient, type MeshcacheClient, stringSerializer } from '@meshcache/client';
import { ErrorCode, ReplicaOpType, ScanPurpose } from '@meshcache/proto';
import { Cluster } from '../src/Cluster.js';
import type { NodeProcess } from '../src/NodeProcess.js';
import {
  committedSets,
  misreadKeys,
  parseSlotRanges,
  pendingMoves,
  rebalanceStatus,
  settledDigestMismatches,
  slotBitmap,
  writeAll,
} from '../src/rebalance/probes.js';
import { topologyOf, waitSettled } from '../src/rebalance/settle.js';
import {
  RawReplicaClient,
  type ReplicaStream,
  replicaAddressOf,
} from '../src/replication/RawReplicaClient.js';
import { waitFor } from '../src/waitFor.js';

jest.setTimeout(240_000);

const valueOf = (key: string) => `v-${key}-${'x'.repeat(150)}`;
const INTRUDER = 'e2e-intruder';

describe('rebalancing: bad input on the transfer path during a join', () => {
  let cluster: Cluster | undefined;
  const clients: MeshcacheClient[] = [];
  const raws: RawReplicaClient[] = [];

  afterAll(async () => {
    for (const r of raws) r.close();
    await Promise.all(clients.map((c) => c.close()));
    await cluster?.stopAll();
  });

  async function streamTo(node: NodeProcess, helloId: string): Promise<ReplicaStream> {
    const raw = new RawReplicaClient(replicaAddressOf(node));
    raws.push(raw);
    return raw.connect(helloId);
  }

  it('refuses and counts foreign, off-epoch and malformed SCANs, ignores an intruder FILLED, and the join completes intact', async () => {
    // A slow throttle keeps the join's slots pending for seconds (it paces
    // between batches, so batches must be small next to the data). No
    // anti-entropy: the transfer alone must leave the joiner complete.
    cluster = await Cluster.start(3, {
      args: [
        '--anti-entropy',
        'false',
        '--transfer-bytes-per-second',
        '60000',
        '--transfer-batch-bytes',
        '16384',
        '--drop-grace-ms',
        '1000',
      ],
    });
    const c = cluster;
    for (const n of c.nodes) clients.push(createClient({ url: n.grpcAddress, serializer: stringSerializer }));
    const keys = Array.from({ length: 4000 }, (_, i) => `bi${i}`);
    await writeAll(clients, keys, valueOf);

    const joiner = await c.add();
    // The join is under way: slots pending for the joiner and a transfer of them not finished.
    const { pending, since, slots } = await waitFor(
      async () => {
        const top = await topologyOf(c.nodes[0]!);
        const moves = pendingMoves(top, 3);
        const status = await rebalanceStatus(joiner);
        // A task that has not started yet keeps its slots pending the longest.
        const tasks = status.tasks
          .filter((t) => t.purpose === 'TRANSFER')
          .sort(
            (a, b) => (a.state === 'waiting' ? 0 : 1) - (b.state === 'waiting' ? 0 : 1) || a.bytes - b.bytes,
          );
        for (const t of tasks) {
          const ss = parseSlotRanges(t.slots).filter((x) => moves.get(x)?.since === t.since);
          if (ss.length > 0) return { pending: top, since: t.since, slots: ss };
        }
        return undefined;
      },
      { timeoutMs: 60_000, intervalMs: 50, what: "the joiner's transfer to be under way" },
    );
    // A task's slots share their old replica set: its first member is a source of all of them.
    const [committed, moves] = [committedSets(pending, 3), pendingMoves(pending, 3)];
    const oldSet = committed[slots[0]!]!;
    expect(slots.filter((s) => committed[s]!.join() !== oldSet.join())).toEqual([]);
    expect(slots.filter((s) => !moves.get(s)!.replicas.includes(joiner.id))).toEqual([]);
    expect(oldSet).not.toContain(joiner.id);
    expect(since).toBeGreaterThan(1);
    const source = c.nodes.find((n) => n.id === oldSet[0])!;
    const refusedBefore = (await rebalanceStatus(source)).counters.scansRefused;

    const scan = (overrides: { slots?: Buffer; since?: number }) => ({
      type: ReplicaOpType.SCAN,
      purpose: ScanPurpose.TRANSFER,
      replicationFactor: 3,
      slots: overrides.slots ?? slotBitmap(slots),
      since: overrides.since ?? since,
      maxBytes: 4096,
    });
    const asJoiner = await streamTo(source, joiner.id);
    // Control: the same request from the slots' target, for their pending epoch, is served (with items).
    const served = (await asJoiner.request(scan({}))).reply;
    expect({ code: ErrorCode[served.code], message: served.message }).toEqual({ code: 'OK', message: '' });
    expect(served.entries.length).toBeGreaterThan(0);

    const intruder = await streamTo(source, INTRUDER);
    const foreign = (await intruder.request(scan({}))).reply;
    const offEpoch = (await asJoiner.request(scan({ since: since - 1 }))).reply;
    const malformed = (await asJoiner.request(scan({ slots: Buffer.alloc(2047, 0xff) }))).reply;
    for (const r of [foreign, offEpoch, malformed]) {
      expect({ code: ErrorCode[r.code], entries: r.entries.length }).toEqual({
        code: 'INVALID_ARGUMENT',
        entries: 0,
      });
    }
    expect(foreign.message).toContain(INTRUDER);
    expect(offEpoch.message).toContain(`since ${since - 1}`);
    expect(malformed.message).toMatch(/2048-byte slot bitmap/);
    expect((await rebalanceStatus(source)).counters.scansRefused - refusedBefore).toBe(3);

    // An intruder claims every slot pending for the joiner filled, to the decider.
    const view = await c.view(c.nodes[0]!);
    const decider = c.nodes.find((n) => n.id === view.currentDecider)!;
    const joinerSlots = [...moves].filter(([, m]) => m.replicas.includes(joiner.id)).map(([s]) => s);
    const toDecider = await streamTo(decider, INTRUDER);
    await toDecider.request({
      type: ReplicaOpType.FILLED,
      replicationFactor: 3,
      since,
      slots: slotBitmap(joinerSlots),
    });

    // Until the join settles, no slot is cut over to the joiner while the
    // joiner still has a fill task for it (topology read first, the
    // joiner's tasks after: a fill never comes undone).
    const early = new Map<number, number>();
    let bootstrapSeen = false;
    await waitFor(
      async () => {
        const top = await topologyOf(c.nodes[0]!);
        const status = await rebalanceStatus(joiner);
        if (status.tasks.some((t) => t.purpose === 'BOOTSTRAP')) bootstrapSeen = true;
        const nowCommitted = committedSets(top, 3);
        const nowPending = pendingMoves(top, 3);
        for (const t of status.tasks) {
          for (const s of parseSlotRanges(t.slots)) {
            if (!nowPending.has(s) && nowCommitted[s]!.includes(joiner.id) && !early.has(s))
              early.set(s, top.epoch);
          }
        }
        return nowPending.size === 0 && status.tasks.length === 0;
      },
      { timeoutMs: 120_000, intervalMs: 100, what: 'the join to cut over every slot' },
    );
    expect([...early].slice(0, 10).map(([s, epoch]) => `slot ${s} at epoch ${epoch}`)).toEqual([]);
    expect(bootstrapSeen).toBe(false);

    const settled = await waitSettled(c.nodes, 4, 60_000);
    const counters = (await rebalanceStatus(joiner)).counters;
    expect(counters.transfersCompleted).toBeGreaterThan(0);
    expect(counters.bootstrapsCompleted).toBe(0);
    expect(counters.slotsLost).toBe(0);
    // Nothing else was refused: the real transfer asked only what it may.
    expect((await rebalanceStatus(source)).counters.scansRefused - refusedBefore).toBe(3);
    // Replicas are compared before the keys are read: a QUORUM read repairs
    // the replica it finds behind, which would hide a joiner that filled short.
    const mismatches = await settledDigestMismatches(c.nodes, settled, 3);
    expect(mismatches.slice(0, 10)).toEqual([]);
    const reader = createClient({ url: joiner.grpcAddress, serializer: stringSerializer });
    clients.push(reader);
    expect(await misreadKeys(reader, keys, valueOf)).toEqual([]);
    for (const s of [asJoiner, intruder, toDecider]) s.end();
  });
});
