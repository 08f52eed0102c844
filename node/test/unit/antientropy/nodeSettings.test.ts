// Anti-entropy's node settings (flags, validation at config load) and the
// test-only local write route of the admin server.
import { describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { createAdminServer, type LocalWrite } from '../../../src/admin/AdminServer.js';
import { ConfigError } from '../../../src/config/ConfigError.js';
import { loadNodeConfig } from '../../../src/config/loadNodeConfig.js';

function load(argv: string[]) {
  return loadNodeConfig({ argv: ['--id', 'n1', ...argv], env: {} });
}

function refusal(argv: string[]): ConfigError {
  try {
    load(argv);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('anti-entropy settings', () => {
  it('are off by default, with the core defaults, and take flags', () => {
    const d = load([]);
    expect(d).toMatchObject({
      antiEntropy: false,
      antiEntropyMinIntervalMs: 30_000,
      antiEntropyMaxIntervalMs: 300_000,
      antiEntropyLeafSlots: 64,
      antiEntropyScanWork: 4096,
      antiEntropyCutoffMarginMs: 10_000,
      antiEntropyRepairSlots: 256,
      testWriteLocal: false,
    });
    const o = load([
      '--anti-entropy',
      'true',
      '--anti-entropy-min-interval-ms',
      '1000',
      '--anti-entropy-max-interval-ms',
      '4000',
      '--anti-entropy-repair-slots',
      '16',
      '--test-write-local',
      'true',
    ]);
    expect(o).toMatchObject({
      antiEntropy: true,
      antiEntropyMinIntervalMs: 1000,
      antiEntropyMaxIntervalMs: 4000,
      antiEntropyRepairSlots: 16,
      testWriteLocal: true,
    });
  });

  it('refuses a maximum interval at or above the tombstone grace when on, naming both', () => {
    const err = refusal([
      '--anti-entropy',
      'true',
      '--tombstone-grace-ms',
      '300000',
      '--max-hint-age-ms',
      '1000',
    ]);
    expect(err.field).toBe('antiEntropyMaxIntervalMs');
    expect(err.message).toMatch(/antiEntropyMaxIntervalMs.*must be below tombstoneGraceMs/);
    // Off, a short grace with the default intervals is fine (nothing runs rounds).
    expect(load(['--tombstone-grace-ms', '3000', '--max-hint-age-ms', '1000']).antiEntropy).toBe(false);
    expect(
      load([
        '--anti-entropy',
        'true',
        '--tombstone-grace-ms',
        '5000',
        '--max-hint-age-ms',
        '1000',
        '--anti-entropy-min-interval-ms',
        '1000',
        '--anti-entropy-max-interval-ms',
        '4999',
      ]).antiEntropyMaxIntervalMs,
    ).toBe(4999);
  });

  it.each<[string[], string, RegExp]>([
    [['--anti-entropy-min-interval-ms', '999'], 'antiEntropyMinIntervalMs', /at least 1000/],
    [
      ['--anti-entropy-max-interval-ms', '30000'],
      'antiEntropyMaxIntervalMs',
      /above antiEntropyMinIntervalMs/,
    ],
    [['--anti-entropy-leaf-slots', '16385'], 'antiEntropyLeafSlots', /at most 16384/],
    [['--anti-entropy-repair-slots', '0'], 'antiEntropyRepairSlots', /greater than 0/],
    [['--anti-entropy-scan-work', '0'], 'antiEntropyScanWork', /greater than 0/],
    [['--anti-entropy-cutoff-margin-ms', '-1'], 'antiEntropyCutoffMarginMs', /0 or more/],
    [['--anti-entropy', 'maybe'], 'antiEntropy', /true or false/],
  ])('refuses %j', (argv, field, rule) => {
    const err = refusal(argv);
    expect(err.field).toBe(field);
    expect(err.message).toMatch(rule);
  });
});

describe('POST /v1/test/write-local', () => {
  const base = {
    registry: new Registry(),
    ready: () => true,
    info: () => ({}),
    topology: () => ({}),
  };

  it('does not exist unless the node runs with testWriteLocal', async () => {
    const app = createAdminServer(base);
    const r = await app.inject({
      method: 'POST',
      url: '/v1/test/write-local',
      payload: { cache: 'c', key: 'k', value: 'v' },
    });
    expect(r.statusCode).toBe(404);
    await app.close();
  });

  it('hands a write or a delete to the node, and refuses what is neither', async () => {
    const writes: LocalWrite[] = [];
    const app = createAdminServer({
      ...base,
      writeLocal: (w) => {
        writes.push(w);
        if (w.cache !== 'c') return { code: 'UNKNOWN_CACHE', message: `unknown cache '${w.cache}'` };
        return { code: 'OK', version: { hlc: 42, node: 7, tombstone: w.value === undefined } };
      },
    });
    const post = (payload: unknown) =>
      app.inject({ method: 'POST', url: '/v1/test/write-local', payload: payload as object });
    const set = await post({ cache: 'c', key: 'k', value: 'v' });
    expect([set.statusCode, set.json()]).toEqual([
      200,
      { code: 'OK', version: { hlc: 42, node: 7, tombstone: false } },
    ]);
    const del = await post({ cache: 'c', key: 'k', delete: true });
    expect([del.statusCode, del.json().version.tombstone]).toEqual([200, true]);
    expect(writes).toEqual([
      { cache: 'c', key: 'k', value: 'v' },
      { cache: 'c', key: 'k' },
    ]);
    expect((await post({ cache: 'x', key: 'k', value: 'v' })).statusCode).toBe(404);
    for (const bad of [
      { cache: 'c', key: 'k' },
      { cache: 'c', key: 'k', value: 'v', delete: true },
      { cache: 'c', key: 'k', value: 3 },
      { cache: 'c', key: 'k', delete: 'yes' },
      { key: 'k', value: 'v' },
    ]) {
      expect({ bad, status: (await post(bad)).statusCode }).toEqual({ bad, status: 400 });
    }
    expect(writes.length).toBe(3);
    await app.close();
  });
});
