import { describe, expect, it } from '@jest/globals';
import { loadNodeConfig } from '../../../src/config/loadNodeConfig.js';
import { DEFAULT_MEMBERSHIP_TIMINGS } from '../../../src/membership/MembershipOptions.js';
import { timingsOf } from '../../../src/membership/NodeMembership.js';

describe('membership settings of a node', () => {
  it('defaults to the membership timings the core documents', () => {
    const o = loadNodeConfig({ argv: ['--id', 'n1'], env: {} });
    const t = timingsOf(o);
    for (const [k, v] of Object.entries(t)) {
      expect([k, v]).toEqual([k, DEFAULT_MEMBERSHIP_TIMINGS[k as keyof typeof DEFAULT_MEMBERSHIP_TIMINGS]]);
    }
    expect(o.testFaults).toBe(false);
    expect(o.externalAddress).toBe('');
    expect(o.meshAddress).toBe('');
    expect(o.leaveTimeoutMs).toBe(3000);
  });

  it('takes timings, addresses and the test flag from flags and the environment', () => {
    const o = loadNodeConfig({
      argv: [
        '--id',
        'n1',
        '--remove-after-ms',
        '4000',
        '--test-faults',
        'true',
        '--mesh-address',
        'pod-0.svc:7070',
      ],
      env: { MESHCACHE_PROBE_INTERVAL_MS: '500', MESHCACHE_EXTERNAL_ADDRESS: '203.0.113.9:7070' },
    });
    expect(o.removeAfterMs).toBe(4000);
    expect(o.probeIntervalMs).toBe(500);
    expect(o.testFaults).toBe(true);
    expect(o.meshAddress).toBe('pod-0.svc:7070');
    expect(o.externalAddress).toBe('203.0.113.9:7070');
  });

  it('refuses a flag that is not a boolean, and non-positive timings', () => {
    expect(() => loadNodeConfig({ argv: ['--id', 'n1', '--test-faults', 'maybe'], env: {} })).toThrow(
      /testFaults \(--test-faults\) must be true or false/,
    );
    expect(() => loadNodeConfig({ argv: ['--id', 'n1', '--probe-interval-ms', '0'], env: {} })).toThrow(
      /invalid setting probeIntervalMs/,
    );
  });
});
