import { describe, expect, it } from '@jest/globals';
import { KeyLocks } from '../../../src/coordinator/KeyLocks.js';

/** A promise the test settles by hand. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every pending promise callback run. */
const drain = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('KeyLocks', () => {
  it('runs the tasks of one key one after another, in order', async () => {
    const locks = new KeyLocks();
    const log: string[] = [];
    const gates = [deferred<void>(), deferred<void>(), deferred<void>()];
    const results = gates.map((gate, i) =>
      locks.run('k', async () => {
        log.push(`start ${i}`);
        await gate.promise;
        log.push(`end ${i}`);
        return i;
      }),
    );
    await drain();
    expect(log).toEqual(['start 0']);
    expect(locks.size).toBe(1);

    gates[2]!.resolve(); // the last task's gate opens first: it still waits its turn
    gates[1]!.resolve();
    await drain();
    expect(log).toEqual(['start 0']);

    gates[0]!.resolve();
    await expect(Promise.all(results)).resolves.toEqual([0, 1, 2]);
    expect(log).toEqual(['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2']);
    await drain();
    expect(locks.size).toBe(0);
  });

  it('runs tasks of different keys concurrently', async () => {
    const locks = new KeyLocks();
    const log: string[] = [];
    const a = deferred<void>();
    const b = deferred<void>();
    const ra = locks.run('a', async () => {
      log.push('start a');
      await a.promise;
      return 'a';
    });
    const rb = locks.run('b', async () => {
      log.push('start b');
      await b.promise;
      return 'b';
    });
    await drain();
    expect(log).toEqual(['start a', 'start b']);
    expect(locks.size).toBe(2);
    b.resolve();
    await expect(rb).resolves.toBe('b');
    a.resolve();
    await expect(ra).resolves.toBe('a');
    await drain();
    expect(locks.size).toBe(0);
  });

  it('a rejected task does not block the next one of its key', async () => {
    const locks = new KeyLocks();
    const first = deferred<number>();
    const r1 = locks.run('k', () => first.promise);
    let secondStarted = false;
    const r2 = locks.run('k', async () => {
      secondStarted = true;
      return 2;
    });
    await drain();
    expect(secondStarted).toBe(false);
    first.reject(new Error('boom'));
    await expect(r1).rejects.toThrow('boom');
    await expect(r2).resolves.toBe(2);
    expect(secondStarted).toBe(true);
    await drain();
    expect(locks.size).toBe(0);
  });

  it('a task run on an idle key starts at once', () => {
    const locks = new KeyLocks();
    let started = false;
    void locks.run('k', async () => {
      started = true;
    });
    expect(started).toBe(true);
  });
});
