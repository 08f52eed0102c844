export type StoreErrorCode =
  'KEY_TOO_LARGE' | 'VALUE_TOO_LARGE' | 'OUT_OF_MEMORY' | 'INVALID_TTL' | 'NOT_AN_INTEGER' | 'OVERFLOW';

/** A request the store refuses; `code` is stable, `message` names the limit and the value. */
export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}
