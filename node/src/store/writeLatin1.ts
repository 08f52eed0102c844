interface Latin1Writable {
  latin1Write(s: string, offset: number, length: number): number;
}

/** Below this length a loop beats the native call's fixed cost. */
const LOOP_MAX = 16;

/**
 * Writes a latin1 string (one char per byte, as the RESP parser decodes
 * arguments) into `target` at `offset` and returns its length. The caller
 * makes sure it fits.
 */
export function writeLatin1(target: Buffer, s: string, offset: number): number {
  const n = s.length;
  if (n < LOOP_MAX) {
    for (let i = 0; i < n; i++) target[offset + i] = s.charCodeAt(i);
    return n;
  }
  return (target as unknown as Latin1Writable).latin1Write(s, offset, n);
}
