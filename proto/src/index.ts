export * from './gen/meshcache/v1/cache.js';
export * from './protocol.js';
export * from './codec/index.js';
export * from './placement/index.js';
