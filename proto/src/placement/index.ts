export { keySlot, keySlotLatin1, commonSlot } from './keySlot.js';
export { SlotTable, SlotTableError } from './SlotTable.js';
export { Placement, type PlacementJson, type PlacementTableJson } from './Placement.js';
