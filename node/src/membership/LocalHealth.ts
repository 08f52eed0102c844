/**
 * Lifeguard's local health multiplier: a score raised when this node misses
 * nacks, refutes a suspicion of itself or finds it was frozen, and lowered by
 * each prompt ack. Probe intervals and timeouts are scaled by score + 1, so a
 * node that is itself slow probes less eagerly and accuses less.
 */
export class LocalHealth {
  private value = 0;

  constructor(private readonly max: number) {}

  get score(): number {
    return this.value;
  }

  apply(delta: number): void {
    this.value = Math.min(this.max - 1, Math.max(0, this.value + delta));
  }

  scale(ms: number): number {
    return ms * (this.value + 1);
  }
}
