export * from './NodeServer.js';
export * from './config/NodeOptions.js';
export * from './config/loadNodeConfig.js';
export * from './config/ConfigError.js';
export * from './store/index.js';
export * as membership from './membership/index.js';
export * as placement from './placement/index.js';
export type { RebalanceCounters, RebalanceStatus } from './rebalance/Rebalancer.js';
