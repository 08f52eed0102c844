import type { MeshcacheError } from '../../../src/errors/MeshcacheError.js';

/** The error `promise` rejects with; fails the test if it resolves. */
export function failureOf(promise: Promise<unknown>): Promise<MeshcacheError> {
  return promise.then(
    (value) => {
      throw new Error(`expected a failure, got ${JSON.stringify(value)}`);
    },
    (err: unknown) => err as MeshcacheError,
  );
}
