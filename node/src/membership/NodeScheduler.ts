import { performance } from 'node:perf_hooks';
import type { Scheduler, Timer } from './runtime.js';

/**
 * Real timers for the membership core. Each callback runs in the check phase
 * after its timer fires, so packets that arrived meanwhile (say, while the
 * process was frozen) are read first. Timers never keep the process alive.
 */
export class NodeScheduler implements Scheduler {
  constructor(private readonly onError: (err: unknown) => void) {}

  now(): number {
    return performance.now();
  }

  schedule(delayMs: number, fn: () => void): Timer {
    let immediate: NodeJS.Immediate | undefined;
    const run = (): void => {
      try {
        fn();
      } catch (err) {
        this.onError(err);
      }
    };
    const timeout = setTimeout(() => {
      immediate = setImmediate(run);
      immediate.unref();
    }, delayMs);
    timeout.unref();
    return {
      cancel: () => {
        clearTimeout(timeout);
        if (immediate) clearImmediate(immediate);
      },
    };
  }
}
