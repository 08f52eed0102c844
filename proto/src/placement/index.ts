export { keySlot, keySlotLatin1, commonSlot } from './keySlot.js';
export { SlotTable, SlotTableError, NO_REPLICA } from './SlotTable.js';
export { PendingMoves, type PendingRangeJson } from './PendingMoves.js';
export { Placement, type PlacementJson, type PlacementTableJson } from './Placement.js';
