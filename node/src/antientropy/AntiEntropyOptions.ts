import { SLOT_COUNT } from '@meshcache/proto';

/** How often and how anti-entropy rounds run. */
export interface AntiEntropyOptions {
  /**
   * Interval between rounds with one peer after a round that found
   * differences (and the first interval). At least 1000 ms: a round scans a
   * whole cache on both sides, so rounds much closer than that would compete
   * with client traffic for nothing.
   */
  antiEntropyMinIntervalMs: number;
  /**
   * The longest interval, reached by doubling after clean rounds (or failed
   * ones). Must be below tombstoneGraceMs: a tombstone that a round never
   * reached before its grace ran out would have no round to vouch that every
   * replica holds it, and a replica that missed the delete keeps the value.
   */
  antiEntropyMaxIntervalMs: number;
  /** Slots per range of the Merkle tree (its first level under the root). */
  antiEntropyLeafSlots: number;
  /** Index positions a scan step examines before yielding the event loop. */
  antiEntropyScanWork: number;
  /**
   * A round leaves out values expiring up to this long after it starts (its
   * cutoff), so an item that expires while the round is under way, or on
   * replicas whose clocks differ by less than this, is not seen as a
   * difference. Tombstones always count.
   */
  antiEntropyCutoffMarginMs: number;
  /** Differing slots repaired per fetch and push (bounds the entries in one message). */
  antiEntropyRepairSlots: number;
}

export const DEFAULT_ANTI_ENTROPY_OPTIONS: Readonly<AntiEntropyOptions> = Object.freeze({
  antiEntropyMinIntervalMs: 30_000,
  antiEntropyMaxIntervalMs: 300_000,
  antiEntropyLeafSlots: 64,
  antiEntropyScanWork: 4096,
  antiEntropyCutoffMarginMs: 10_000,
  antiEntropyRepairSlots: 256,
});

const MIN_INTERVAL_FLOOR_MS = 1000;

/** Throws a RangeError naming the offending field (and the value it has) when the options are unusable. */
export function validateAntiEntropyOptions(o: Readonly<AntiEntropyOptions>, tombstoneGraceMs: number): void {
  requireInt('antiEntropyMinIntervalMs', o.antiEntropyMinIntervalMs, MIN_INTERVAL_FLOOR_MS);
  requireInt('antiEntropyMaxIntervalMs', o.antiEntropyMaxIntervalMs, 1);
  if (o.antiEntropyMaxIntervalMs <= o.antiEntropyMinIntervalMs) {
    throw new RangeError(
      `antiEntropyMaxIntervalMs (${o.antiEntropyMaxIntervalMs}) must be above antiEntropyMinIntervalMs ` +
        `(${o.antiEntropyMinIntervalMs})`,
    );
  }
  if (o.antiEntropyMaxIntervalMs >= tombstoneGraceMs) {
    throw new RangeError(
      `antiEntropyMaxIntervalMs (${o.antiEntropyMaxIntervalMs}) must be below tombstoneGraceMs (${tombstoneGraceMs}): ` +
        'tombstones may be purged once a round has covered them, and every tombstone must meet a round ' +
        'before its grace runs out',
    );
  }
  requireInt('antiEntropyLeafSlots', o.antiEntropyLeafSlots, 1, SLOT_COUNT);
  requireInt('antiEntropyScanWork', o.antiEntropyScanWork, 1);
  requireInt('antiEntropyCutoffMarginMs', o.antiEntropyCutoffMarginMs, 0);
  requireInt('antiEntropyRepairSlots', o.antiEntropyRepairSlots, 1, SLOT_COUNT);
}

function requireInt(field: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    const bound = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`;
    throw new RangeError(`${field} must be an integer ${bound}, got ${v}`);
  }
}
