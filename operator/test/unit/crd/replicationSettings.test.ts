import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { DEFAULT_NODE_OPTIONS, loadNodeConfig, validateNodeOptions } from '@meshcache/node';
import { NODE_REPLICATION_DEFAULTS } from '../../../src/crd/CacheClusterSchema.js';
import { cacheClusterOpenApiSchema } from '../../../src/crd/cacheClusterCrd.js';
import { normalizeCluster } from '../../../src/crd/normalizeCluster.js';
import { nodeConfigYaml, nodeSettings } from '../../../src/render/nodeConfig.js';
import { parseDurationMs } from '../../../src/render/units.js';
import { StructuralValidator } from '../../support/structuralValidator.js';

// spec.replication: optional per-cluster replication settings, rendered into
// the node ConfigMap only when set; the CEL rule maxHintAge < tombstoneGrace
// agrees with the node's own check.

const validator = new StructuralValidator(cacheClusterOpenApiSchema());
const HINT_RULE =
  '.spec.replication.maxHintAge: replication.maxHintAge must be shorter than replication.tombstoneGrace (node defaults 5m and 10m when left out): a hint replayed after a tombstone was purged could bring a deleted value back';

function problems(replication: Record<string, unknown>): string[] {
  return validator
    .validate({
      apiVersion: 'meshcache.io/v1alpha1',
      kind: 'CacheCluster',
      metadata: { name: 'c1' },
      spec: { replication },
    })
    .problems.map((p) => `${p.path}: ${p.message}`);
}

function settings(replication: Record<string, unknown>): Record<string, unknown> {
  return nodeSettings(
    normalizeCluster({
      apiVersion: 'meshcache.io/v1alpha1',
      kind: 'CacheCluster',
      metadata: { name: 'c1', namespace: 'ns1' },
      spec: { replication },
    }).spec,
  );
}

/** The node's verdict on the rendered settings (plus the per-pod fields): '' when it accepts them. */
function nodeVerdict(replication: Record<string, unknown>): string {
  try {
    validateNodeOptions({ ...DEFAULT_NODE_OPTIONS, ...settings(replication), id: 'c1-0', host: 'c1-0' });
    return '';
  } catch (err) {
    return (err as Error).message;
  }
}

describe('spec.replication', () => {
  it("documents the node's defaults, which apply when a field is left out", () => {
    expect({
      maxClockSkewMs: parseDurationMs(NODE_REPLICATION_DEFAULTS.maxClockSkew),
      tombstoneGraceMs: parseDurationMs(NODE_REPLICATION_DEFAULTS.tombstoneGrace),
      maxHintAgeMs: parseDurationMs(NODE_REPLICATION_DEFAULTS.maxHintAge),
      readRepairChance: NODE_REPLICATION_DEFAULTS.readRepairChance,
    }).toEqual({
      maxClockSkewMs: DEFAULT_NODE_OPTIONS.maxClockSkewMs,
      tombstoneGraceMs: DEFAULT_NODE_OPTIONS.tombstoneGraceMs,
      maxHintAgeMs: DEFAULT_NODE_OPTIONS.maxHintAgeMs,
      readRepairChance: DEFAULT_NODE_OPTIONS.readRepairChance,
    });
  });

  it('left out, it adds nothing to the node config', () => {
    const s = settings({});
    for (const key of ['maxClockSkewMs', 'tombstoneGraceMs', 'maxHintAgeMs', 'readRepairChance']) {
      expect(s).not.toHaveProperty(key);
    }
  });

  it('set, it reaches the node (ConfigMap keys in ms, read back by the node)', () => {
    const replication = {
      maxClockSkew: '250ms',
      tombstoneGrace: '1h30m',
      maxHintAge: '45m',
      readRepairChance: 0.25,
    };
    expect(problems(replication)).toEqual([]);
    const spec = normalizeCluster({
      apiVersion: 'meshcache.io/v1alpha1',
      kind: 'CacheCluster',
      metadata: { name: 'c1', namespace: 'ns1' },
      spec: { replication },
    }).spec;
    const dir = mkdtempSync(join(tmpdir(), 'meshcache-op-'));
    try {
      const file = join(dir, 'node.yaml');
      writeFileSync(file, nodeConfigYaml(spec));
      const o = loadNodeConfig({ argv: [], env: { MESHCACHE_CONFIG: file, MESHCACHE_ID: 'c1-0' } });
      expect([o.maxClockSkewMs, o.tombstoneGraceMs, o.maxHintAgeMs, o.readRepairChance]).toEqual([
        250,
        90 * 60_000,
        45 * 60_000,
        0.25,
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each<[string, Record<string, unknown>]>([
    ['nothing', {}],
    ['only a longer grace', { tombstoneGrace: '1h' }],
    ['only a shorter hint age', { maxHintAge: '1m' }],
    ['both, hint age below grace', { maxHintAge: '20m', tombstoneGrace: '1h' }],
    ['fractions and sums', { maxHintAge: '1.5s', tombstoneGrace: '1s600ms' }],
    ['read repair off', { readRepairChance: 0 }],
    ['read repair always', { readRepairChance: 1 }],
    ['a tight clock', { maxClockSkew: '1ms' }],
  ])('accepts %s (and so does the node)', (_n, replication) => {
    expect(problems(replication)).toEqual([]);
    expect(nodeVerdict(replication)).toBe('');
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['hint age equal to grace', { maxHintAge: '10m', tombstoneGrace: '10m' }, HINT_RULE],
    ['hint age above grace', { maxHintAge: '2h', tombstoneGrace: '1h' }, HINT_RULE],
    ['a grace below the default hint age', { tombstoneGrace: '4m' }, HINT_RULE],
    ['a hint age above the default grace', { maxHintAge: '15m' }, HINT_RULE],
    ['the same span written two ways', { maxHintAge: '600s', tombstoneGrace: '10m' }, HINT_RULE],
    ['a zero clock skew', { maxClockSkew: '0s' }, '.spec.replication.maxClockSkew: must be at least 1ms'],
    ['a zero grace', { tombstoneGrace: '0ms' }, '.spec.replication.tombstoneGrace: must be at least 1ms'],
    ['a bare number', { maxHintAge: '300' }, '.spec.replication.maxHintAge: must match pattern'],
    ['a chance above 1', { readRepairChance: 1.5 }, '.spec.replication.readRepairChance: must be <= 1'],
    ['a negative chance', { readRepairChance: -0.1 }, '.spec.replication.readRepairChance: must be >= 0'],
    ['an unknown field', { hintAge: '1m' }, '.spec.replication: unknown field "hintAge"'],
  ])('rejects %s', (_n, replication, expected) => {
    expect(problems(replication).join('\n')).toContain(expected);
  });

  it('the CEL rule and the node agree on maxHintAge < tombstoneGrace (defaults filled in)', () => {
    const ms = fc.option(fc.integer({ min: 1, max: 4 * 3_600_000 }), { nil: undefined });
    fc.assert(
      fc.property(ms, ms, (hint, grace) => {
        const replication: Record<string, unknown> = {};
        if (hint !== undefined) replication['maxHintAge'] = `${hint}ms`;
        if (grace !== undefined) replication['tombstoneGrace'] = `${grace / 1000}s`;
        const crdOk = problems(replication).length === 0;
        expect(nodeVerdict(replication) === '').toBe(crdOk);
      }),
      { numRuns: 300 },
    );
  });
});
