#!/usr/bin/env node
/**
 * Writes the placement test vectors (previous table, view change -> new
 * table) that node/test/unit/placement/vectors.test.ts replays:
 *
 *   node bench/dist/placement/placementVectors.js --out node/test/unit/placement/vectors
 *   npx prettier --write node/test/unit/placement/vectors
 *
 * Run it only when the algorithm is meant to change: the vectors pin its
 * output, so every node of a cluster (any version that passes them) computes
 * the same table from the same view. Each case chains from an earlier case's
 * output where it says `after`, so the vectors also cover tables the
 * algorithm itself produced over several changes.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SlotTable } from '@meshcache/proto';
import { placement } from '@meshcache/node';

type Member = placement.PlacementMember;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}

const OUT = arg('out', 'node/test/unit/placement/vectors');
const nodes = (n: number, zones = 0, from = 0): Member[] =>
  Array.from({ length: n }, (_, i) => ({
    id: `node-${String(from + i).padStart(3, '0')}`,
    zone: zones ? `zone-${(from + i) % zones}` : 'zone-a',
  }));

interface Case {
  name: string;
  description: string;
  replicationFactor: number;
  /** Name of the case whose output is this case's previous table; none: no previous table. */
  after?: string;
  members: Member[];
}

const cases: Case[] = [
  {
    name: '01-fresh-3-rf1',
    description: 'first table, 3 nodes, one replica',
    replicationFactor: 1,
    members: nodes(3),
  },
  {
    name: '02-fresh-1-rf3',
    description: 'a fresh cluster of one node, replication factor 3',
    replicationFactor: 3,
    members: nodes(1),
  },
  {
    name: '03-grow-1-to-5-rf3',
    description: 'four nodes join the one-node cluster in one view',
    replicationFactor: 3,
    after: '02-fresh-1-rf3',
    members: nodes(5),
  },
  {
    name: '04-join-5-to-6-rf3',
    description: 'one node joins',
    replicationFactor: 3,
    after: '03-grow-1-to-5-rf3',
    members: nodes(6),
  },
  {
    name: '05-leave-6-to-5-rf3',
    description: 'node-002 leaves (its replicas are holes)',
    replicationFactor: 3,
    after: '04-join-5-to-6-rf3',
    members: nodes(6).filter((m) => m.id !== 'node-002'),
  },
  {
    name: '06-fresh-9-zones-rf3',
    description: '9 nodes in 3 zones: replicas in distinct zones',
    replicationFactor: 3,
    members: nodes(9, 3),
  },
  {
    name: '07-join-zone-rf3',
    description: 'a 10th node joins zone-0 (4 nodes there)',
    replicationFactor: 3,
    after: '06-fresh-9-zones-rf3',
    members: nodes(10, 3),
  },
  {
    name: '08-remove-two-zones-rf3',
    description: 'two nodes of different zones removed in one view',
    replicationFactor: 3,
    after: '07-join-zone-rf3',
    members: nodes(10, 3).filter((m) => m.id !== 'node-004' && m.id !== 'node-008'),
  },
  {
    name: '09-fresh-8-two-zones-rf3',
    description: 'two zones, three replicas: at most two per zone',
    replicationFactor: 3,
    members: nodes(8, 2),
  },
  {
    name: '10-fresh-32-rf2',
    description: '32 nodes, two replicas',
    replicationFactor: 2,
    members: nodes(32),
  },
  {
    name: '11-join-32-to-33-rf2',
    description: 'one node joins 32',
    replicationFactor: 2,
    after: '10-fresh-32-rf2',
    members: nodes(33),
  },
  {
    name: '12-leave-33-to-32-rf2',
    description: 'node-010 leaves',
    replicationFactor: 2,
    after: '11-join-32-to-33-rf2',
    members: nodes(33).filter((m) => m.id !== 'node-010'),
  },
  {
    name: '13-shrink-5-to-2-rf3',
    description: 'three of five leave: fewer nodes than replicas, every node holds every slot',
    replicationFactor: 3,
    after: '03-grow-1-to-5-rf3',
    members: nodes(2),
  },
  {
    name: '14-same-members-rf3',
    description: 'a view change that keeps the members (a restart) leaves the table as it is',
    replicationFactor: 3,
    after: '05-leave-6-to-5-rf3',
    members: nodes(6).filter((m) => m.id !== 'node-002'),
  },
];

mkdirSync(OUT, { recursive: true });
const outputs = new Map<string, SlotTable>();
for (const c of cases) {
  const prev = c.after ? outputs.get(c.after)! : undefined;
  const next = placement.computePlacement(prev, c.members, c.replicationFactor);
  outputs.set(c.name, next);
  const vector = {
    name: c.name,
    description: c.description,
    replicationFactor: c.replicationFactor,
    previous: prev ? prev.toRanges() : null,
    members: c.members,
    expected: next.toRanges(),
  };
  writeFileSync(join(OUT, `${c.name}.json`), `${JSON.stringify(vector)}\n`);
  console.log(`${c.name}: ${vector.expected.length} ranges`);
}
