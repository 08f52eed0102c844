/** The one field manager of every server-side apply the operator makes. */
export const FIELD_MANAGER = 'meshcache-operator';
/** Finalizer the operator keeps on every CacheCluster it manages. */
export const FINALIZER = 'meshcache.io/finalizer';
/** reportingController of the operator's Events. */
export const REPORTING_CONTROLLER = 'meshcache.io/operator';
