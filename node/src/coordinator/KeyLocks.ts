/**
 * Runs read-modify-writes of one key one after another on this node (the
 * slot's primary coordinates them): a second INCR of a key waits for the
 * first to finish its write, so it reads the first one's result.
 */
export class KeyLocks {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key);
    const next = before === undefined ? task() : before.then(task, task);
    this.tails.set(key, next);
    const clear = () => {
      if (this.tails.get(key) === next) this.tails.delete(key);
    };
    next.then(clear, clear);
    return next;
  }

  get size(): number {
    return this.tails.size;
  }
}
