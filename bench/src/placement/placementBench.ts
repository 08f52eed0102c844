#!/usr/bin/env node
/**
 * Placement figures (`npm run bench:placement`; add `-- --json FILE`).
 *
 * For 3, 5, 10, 32, 64 and 128 nodes, replication factor 1, 2 and 3, without
 * zones and with three zones (node i in zone i mod 3): the table placement
 * computes for the nodes from nothing, then one join and one leave from it.
 * Per change:
 *
 *  - copies: slot-replica assignments (slot, node) the new table has and the
 *    old one lacked, i.e. replicas that must be streamed. Minimum: a lower
 *    bound on what any table balanced within 1.05 needs (copiesMinimum): the
 *    larger of (a) what nodes must gain to reach a count within [m, 1.05 m] of
 *    their fair share, for the best m, departed nodes' replicas counting as
 *    gains of whoever takes them, and (b) the holes departed nodes leave, plus
 *    what a node needs beyond the holes it may fill (not in slots it already
 *    holds, nor where its zone is full). Each is exact for its relaxation;
 *  - primaries: slots whose primary changed, against the same bound on
 *    primary counts;
 *  - balance: largest/smallest primary count, and largest/smallest held count
 *    over the node's fair share (equal shares unless the zone rule caps a
 *    zone; "bound" is the best ratio any table could have then);
 *  - ranges: maximal runs of slots a node holds (any position), is primary
 *    of, and table ranges (runs with one replica list: CLUSTER SLOTS entries)
 *    per node;
 *  - zone violations (slots whose replicas share a zone when they need not).
 *
 * Then churn: 40 alternating joins and random leaves from the fresh table,
 * reporting the worst ratio and balance seen and the ranges at the end.
 *
 * Last, with five real nodes: the time from a committed view to watching
 * clients holding it (topologyWatchBench.ts).
 * Options: --sizes 3,5,10,32,64,128, --churn 40, --watch-trials 10 (0: skip), --json FILE.
 */
import { writeFileSync } from 'node:fs';
import type { SlotTable } from '@meshcache/proto';
import { placement } from '@meshcache/node';
import { measureWatch, type WatchFigures } from './topologyWatchBench.js';

type Member = placement.PlacementMember;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}

const SIZES = arg('sizes', '3,5,10,32,64,128').split(',').map(Number);
const CHURN = Number(arg('churn', '40'));
const WATCH_TRIALS = Number(arg('watch-trials', '10'));
const JSON_FILE = arg('json', '');
const SLOTS = 16384;

const idOf = (i: number) => `node-${String(i).padStart(3, '0')}`;
const memberOf = (i: number, zones: number): Member => ({
  id: idOf(i),
  zone: zones ? `zone-${i % zones}` : 'zone',
});

interface ChangeFigures {
  op: string;
  nodes: number;
  rf: number;
  zones: number;
  ms: number;
  copies: number;
  copiesMin: number;
  copiesRatio: number;
  primaries: number;
  primariesMin: number;
  primariesRatio: number;
  balancePrimaries: number;
  balanceReplicas: number;
  balanceBound: number;
  heldRangesAvg: number;
  heldRangesMax: number;
  primaryRangesAvg: number;
  tableRangesPerNode: number;
  zoneViolations: number;
}

function measure(
  op: string,
  prev: SlotTable | undefined,
  members: Member[],
  rf: number,
  zones: number,
): { table: SlotTable; figures: ChangeFigures } {
  const t0 = performance.now();
  const table = placement.computePlacement(prev, members, rf);
  const ms = performance.now() - t0;
  const b = placement.balanceOf(table, members);
  const r = placement.rangesOf(table);
  let copies = 0;
  let primaries = 0;
  let copiesMin = 0;
  let primariesMin = 0;
  if (prev) {
    const m = placement.movementBetween(prev, table);
    copies = m.copies;
    primaries = m.primaries;
    const before = prev.counts();
    copiesMin = placement.copiesMinimum(prev, members, table.width);
    primariesMin = placement.movementLowerBound(
      members.map((x) => before.primaries.get(x.id) ?? 0),
      members.map(() => SLOTS / members.length),
      SLOTS,
    );
  }
  const ratio = (a: number, min: number) => (min === 0 ? (a === 0 ? 1 : Infinity) : a / min);
  return {
    table,
    figures: {
      op,
      nodes: members.length,
      rf,
      zones,
      ms: Math.round(ms),
      copies,
      copiesMin,
      copiesRatio: ratio(copies, copiesMin),
      primaries,
      primariesMin,
      primariesRatio: ratio(primaries, primariesMin),
      balancePrimaries: b.primaries,
      balanceReplicas: b.replicasVsShare,
      balanceBound: b.replicasBound,
      heldRangesAvg: r.heldAvg,
      heldRangesMax: r.heldMax,
      primaryRangesAvg: r.primaryAvg,
      tableRangesPerNode: r.table / members.length,
      zoneViolations: placement.zoneViolations(table, members),
    },
  };
}

const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '-');
const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '-');

function printRows(rows: ChangeFigures[]): void {
  const head = [
    'nodes',
    'rf',
    'zones',
    'change',
    'copies',
    'min',
    'x',
    'prim',
    'min',
    'x',
    'bal prim',
    'bal held',
    'bound',
    'held rng',
    'max',
    'prim rng',
    'tbl rng/n',
    'zone viol',
    'ms',
  ];
  const lines = rows.map((f) => [
    String(f.nodes),
    String(f.rf),
    String(f.zones || '-'),
    f.op,
    String(f.copies),
    String(f.copiesMin),
    f3(f.copiesRatio),
    String(f.primaries),
    String(f.primariesMin),
    f3(f.primariesRatio),
    f3(f.balancePrimaries),
    f3(f.balanceReplicas),
    f3(f.balanceBound),
    f2(f.heldRangesAvg),
    String(f.heldRangesMax),
    f2(f.primaryRangesAvg),
    f2(f.tableRangesPerNode),
    String(f.zoneViolations),
    String(f.ms),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
  console.log(fmt(head));
  for (const l of lines) console.log(fmt(l));
}

interface ChurnFigures {
  nodes: number;
  rf: number;
  zones: number;
  changes: number;
  worstCopiesRatio: number;
  meanCopiesRatio: number;
  worstPrimariesRatio: number;
  worstBalance: number;
  worstZoneViolations: number;
  heldRangesAvg: number;
  primaryRangesAvg: number;
  tableRangesPerNode: number;
  maxMs: number;
}

function churn(n: number, rf: number, zones: number, changes: number): ChurnFigures {
  let members = Array.from({ length: n }, (_, i) => memberOf(i, zones));
  let table = placement.computePlacement(undefined, members, rf);
  let next = n;
  let seed = 7 * n + rf;
  const random = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x80000000;
  };
  const out: ChurnFigures = {
    nodes: n,
    rf,
    zones,
    changes,
    worstCopiesRatio: 0,
    meanCopiesRatio: 0,
    worstPrimariesRatio: 0,
    worstBalance: 0,
    worstZoneViolations: 0,
    heldRangesAvg: 0,
    primaryRangesAvg: 0,
    tableRangesPerNode: 0,
    maxMs: 0,
  };
  let last: ChangeFigures | undefined;
  for (let i = 0; i < changes; i++) {
    const joining = i % 2 === 0;
    const nextMembers = joining
      ? [...members, memberOf(next++, zones)]
      : members.filter((_, k) => k !== Math.floor(random() * members.length));
    const { table: t, figures } = measure(joining ? 'join' : 'leave', table, nextMembers, rf, zones);
    out.worstCopiesRatio = Math.max(out.worstCopiesRatio, figures.copiesRatio);
    out.meanCopiesRatio += figures.copiesRatio / changes;
    out.worstPrimariesRatio = Math.max(out.worstPrimariesRatio, figures.primariesRatio);
    // Balance judged where zones allow one (bound <= 1.05).
    if (figures.balanceBound <= 1.05) {
      out.worstBalance = Math.max(out.worstBalance, figures.balancePrimaries, figures.balanceReplicas);
    }
    out.worstZoneViolations = Math.max(out.worstZoneViolations, figures.zoneViolations);
    out.maxMs = Math.max(out.maxMs, figures.ms);
    table = t;
    members = nextMembers;
    last = figures;
  }
  out.heldRangesAvg = last?.heldRangesAvg ?? 0;
  out.primaryRangesAvg = last?.primaryRangesAvg ?? 0;
  out.tableRangesPerNode = last?.tableRangesPerNode ?? 0;
  return out;
}

const rows: ChangeFigures[] = [];
for (const zones of [0, 3]) {
  for (const n of SIZES) {
    for (const rf of [1, 2, 3]) {
      const members = Array.from({ length: n }, (_, i) => memberOf(i, zones));
      const fresh = measure('fresh', undefined, members, rf, zones);
      rows.push(fresh.figures);
      rows.push(measure('join', fresh.table, [...members, memberOf(n, zones)], rf, zones).figures);
      const leaving = Math.floor(n / 2);
      rows.push(
        measure(
          'leave',
          fresh.table,
          members.filter((_, i) => i !== leaving),
          rf,
          zones,
        ).figures,
      );
    }
  }
}
console.log('Placement: one join and one leave from the table computed for N nodes (16384 slots)');
printRows(rows);
const changes = rows.filter((r) => r.op !== 'fresh');
const judged = rows.filter((r) => r.balanceBound <= 1.05);
console.log(
  `\nworst copies/min ${f3(Math.max(...changes.map((r) => r.copiesRatio)))}, ` +
    `worst balance ${f3(Math.max(...judged.map((r) => Math.max(r.balancePrimaries, r.balanceReplicas))))} ` +
    `(where zones allow 1.05), held ranges/node avg ${f2(Math.max(...rows.map((r) => r.heldRangesAvg)))} at most, ` +
    `zone violations ${Math.max(...rows.map((r) => r.zoneViolations))}`,
);

const churns: ChurnFigures[] = [];
if (CHURN > 0) {
  for (const zones of [0, 3]) {
    for (const n of SIZES.filter((x) => x >= 5)) churns.push(churn(n, 3, zones, CHURN));
  }
  console.log(
    `\nChurn: ${CHURN} alternating joins and random leaves from the fresh table, replication factor 3`,
  );
  const head = [
    'nodes',
    'zones',
    'worst copies x',
    'mean x',
    'worst prim x',
    'worst bal',
    'zone viol',
    'held rng',
    'prim rng',
    'tbl rng/n',
    'max ms',
  ];
  const lines = churns.map((c) => [
    String(c.nodes),
    String(c.zones || '-'),
    f3(c.worstCopiesRatio),
    f3(c.meanCopiesRatio),
    f3(c.worstPrimariesRatio),
    f3(c.worstBalance),
    String(c.worstZoneViolations),
    f2(c.heldRangesAvg),
    f2(c.primaryRangesAvg),
    f2(c.tableRangesPerNode),
    String(c.maxMs),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
  console.log(fmt(head));
  for (const l of lines) console.log(fmt(l));
}

let watch: WatchFigures | undefined;
if (WATCH_TRIALS > 0) {
  watch = await measureWatch(WATCH_TRIALS);
  console.log(
    `\nCommitted view -> watching clients (${watch.nodes} real nodes, ${watch.views} views, ` +
      `${watch.rangesPerPush} ranges per push):`,
  );
  const ms = (x: { p50: number; p99: number; max: number }) =>
    `p50 ${x.p50.toFixed(0)} ms, p99 ${x.p99.toFixed(0)} ms, max ${x.max.toFixed(0)} ms`;
  console.log(`  first watcher holds it: ${ms(watch.firstMs)}`);
  console.log(`  every watcher holds it: ${ms(watch.allMs)}`);
}

if (JSON_FILE) {
  writeFileSync(JSON_FILE, JSON.stringify({ slots: SLOTS, changes: rows, churn: churns, watch }, null, 2));
  console.log(`\nwrote ${JSON_FILE}`);
}
