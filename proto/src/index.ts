export * from './gen/meshcache/v1/cache.js';
export * from './protocol.js';
