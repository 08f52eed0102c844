// Hand-made histories for the checker's tests: each operation is given its exact
// client-side interval, through the real History recorder with a settable clock.
import { History, type OpHandle, type OpRecord, type Outcome } from '../../../src/history/index.js';

export interface OpOptions {
  key?: string;
  outcome?: Outcome | 'pending';
}

export class HistoryBuilder {
  #t = 0;
  readonly history = new History({ now: () => this.#t });

  get ops(): readonly OpRecord[] {
    return this.history.ops;
  }

  write(
    process: string,
    value: string,
    start: number,
    end: number,
    opts: OpOptions & { expiresAtMs?: number } = {},
  ) {
    this.#t = start;
    const h = this.history.invoke(process, 'write', opts.key ?? 'k', value, {
      expiresAtMs: opts.expiresAtMs,
    });
    return this.#finish(h, end, opts.outcome ?? 'ok');
  }

  del(process: string, start: number, end: number, opts: OpOptions = {}) {
    this.#t = start;
    return this.#finish(this.history.invoke(process, 'delete', opts.key ?? 'k'), end, opts.outcome ?? 'ok');
  }

  /** A read that completed ok with `value` (null = not found), or with another outcome and no value. */
  read(process: string, value: string | null, start: number, end: number, opts: OpOptions = {}) {
    this.#t = start;
    const h = this.history.invoke(process, 'read', opts.key ?? 'k');
    const outcome = opts.outcome ?? 'ok';
    if (outcome === 'pending') return this.ops[h.id]!;
    this.#t = end;
    this.history.complete(h, outcome, outcome === 'ok' ? value : undefined);
    return this.ops[h.id]!;
  }

  #finish(h: OpHandle, end: number, outcome: Outcome | 'pending'): OpRecord {
    if (outcome !== 'pending') {
      this.#t = end;
      this.history.complete(h, outcome);
    }
    return this.ops[h.id]!;
  }
}
