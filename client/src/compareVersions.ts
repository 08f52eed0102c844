import type { Version } from '@meshcache/proto';

/**
 * Orders two entry versions the way the cluster does (last writer wins): by
 * physical ms, then logical counter, then writer node tag. Returns a negative
 * number when `a` is older, 0 when equal, positive when `a` is newer.
 */
export function compareVersions(a: Version, b: Version): number {
  if (a.physicalMs !== b.physicalMs) return a.physicalMs < b.physicalMs ? -1 : 1;
  if (a.logical !== b.logical) return a.logical < b.logical ? -1 : 1;
  if (a.node !== b.node) return a.node < b.node ? -1 : 1;
  return 0;
}

/** Whether two versions are the same. */
export function versionsEqual(a: Version, b: Version): boolean {
  return compareVersions(a, b) === 0;
}
