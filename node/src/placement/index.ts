export {
  computePlacement,
  DEFAULT_PLACEMENT_BALANCE,
  type PlacementMember,
  type PlacementOptions,
} from './computePlacement.js';
export { balanceWindow, type BalanceWindow } from './balanceWindow.js';
export { fairShares } from './fairShares.js';
export * from './placementStats.js';
export { placementPayload } from './placementPayload.js';
