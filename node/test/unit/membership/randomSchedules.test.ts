// Thousands of randomized, seeded schedules of crashes, restarts, partitions, freezes, loss, admin
// removals, graceful leaves and mid-proposal ambushes over the simulated network; the simulator
// checks the view invariants after every event (see Simulation and runRandomSchedule). Set
// MESHCACHE_SIM_SCHEDULES to run more (or fewer); a failure prints its seed and schedule.
import { describe, expect, it } from '@jest/globals';
import { runRandomSchedule } from '../../../src/membership/sim/randomSchedule.js';

const COUNT = Number(process.env['MESHCACHE_SIM_SCHEDULES'] ?? 2000);
const FIRST = Number(process.env['MESHCACHE_SIM_FIRST_SEED'] ?? 0);

describe('randomized membership schedules', () => {
  it(`finds no violation of the view invariants in ${COUNT} schedules`, () => {
    const failures: string[] = [];
    let commits = 0;
    for (let seed = FIRST; seed < FIRST + COUNT; seed++) {
      const r = runRandomSchedule(seed);
      commits += r.commits;
      if (r.violations.length > 0 && failures.length < 3) {
        failures.push(
          `seed ${seed} (${r.nodes} nodes):\n  ${r.violations.join('\n  ')}\n  schedule:\n    ${r.steps.join('\n    ')}`,
        );
      }
    }
    expect(failures).toEqual([]);
    // The schedules exercise the protocol: many views get committed along the way.
    expect(commits).toBeGreaterThan(COUNT * 3);
  }, 300_000);
});
