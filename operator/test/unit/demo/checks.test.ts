import { describe, expect, it } from '@jest/globals';
import {
  type NodeState,
  clusterFormed,
  demoKey,
  demoValue,
  emptyTally,
  groupErrors,
  int,
  keyList,
  rate,
  stepLine,
  tallyRead,
} from '../../../src/demo/checks.js';

const members = (ids: string[]) => ids.map((id) => ({ id, instance: 1 }));

function state(id: string, epoch: number, ids: string[], factor = 3, member = true): NodeState {
  return {
    id,
    view: { cluster: 'c1', epoch, members: members(ids), member },
    info: { caches: [{ name: 'default', replicationFactor: 3, effectiveReplicationFactor: factor }] },
  };
}

describe('the demo waits for the cluster to form', () => {
  const all = ['n1', 'n2', 'n3'];

  it('when every node is a member of the same view of three, with three replicas of the cache', () => {
    expect(
      clusterFormed([state('n1', 3, all), state('n2', 3, all), state('n3', 3, all)], 3, 'default', 3),
    ).toEqual({ ok: true, epoch: 3 });
  });

  it('not while a node is outside the view, holds an older one, or sees fewer members', () => {
    const cases: NodeState[][] = [
      [state('n1', 3, all), state('n2', 3, all), state('n3', 0, [], 1, false)],
      [state('n1', 3, all), state('n2', 3, all), state('n3', 2, all)],
      [state('n1', 2, ['n1', 'n2']), state('n2', 2, ['n1', 'n2']), state('n3', 2, ['n1', 'n2'])],
    ];
    for (const c of cases) expect(clusterFormed(c, 3, 'default', 3)).toMatchObject({ ok: false });
    expect(clusterFormed(cases[1]!, 3, 'default', 3)).toEqual({
      ok: false,
      reason: 'n3 holds epoch 2, n1 holds epoch 3: views differ',
    });
  });

  it('not while a node still gives the cache fewer replicas', () => {
    expect(
      clusterFormed([state('n1', 3, all), state('n2', 3, all, 2), state('n3', 3, all)], 3, 'default', 3),
    ).toEqual({ ok: false, reason: 'n2 gives cache "default" replication factor 2, not 3' });
  });
});

describe('reading the keys back', () => {
  it('counts each key as read back, missing, wrong or failed', () => {
    const t = emptyTally();
    tallyRead(t, 0, { value: demoValue(0) });
    tallyRead(t, 1, { value: undefined });
    tallyRead(t, 2, { value: demoValue(3) });
    tallyRead(t, 3, { error: 'TIMEOUT: late' });
    expect(t).toEqual({
      found: 1,
      missing: [1],
      wrong: [{ index: 2, got: demoValue(3) }],
      failed: [{ index: 3, error: 'TIMEOUT: late' }],
    });
  });

  it('gives every key its own value', () => {
    const values = new Set(Array.from({ length: 10_000 }, (_, i) => demoValue(i)));
    expect(values.size).toBe(10_000);
    expect(demoKey(42)).toBe('demo:000042');
  });
});

describe('figures', () => {
  it('prints counts, rates and lists readably', () => {
    expect(int(10_000)).toBe('10,000');
    expect(rate(10_000, 2_000)).toBe('5,000 ops/s');
    expect(stepLine('kill -9 n2', 'pid 7')).toBe(`  ${'kill -9 n2'.padEnd(26)} pid 7`);
    expect(keyList([1, 2, 3], 2)).toBe('demo:000001, demo:000002, ... (+1 more)');
    expect(groupErrors(['A', 'B', 'A'])).toEqual(['2 x A', '1 x B']);
  });
});
