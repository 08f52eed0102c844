/**
 * Bytes each entry costs beyond its key and value characters: placeholder until measured.
 */
export const ENTRY_OVERHEAD_BYTES = 200;
