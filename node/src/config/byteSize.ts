const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1000,
  kb: 1000,
  m: 1000 ** 2,
  mb: 1000 ** 2,
  g: 1000 ** 3,
  gb: 1000 ** 3,
  ki: 1024,
  kib: 1024,
  mi: 1024 ** 2,
  mib: 1024 ** 2,
  gi: 1024 ** 3,
  gib: 1024 ** 3,
};

/**
 * Parses a byte size: a number of bytes, or a string such as `512Mi`, `256MiB`,
 * `1G` (decimal) or `64Ki` (binary), as Kubernetes quantities are written.
 * Returns NaN when the text is not a size, so the schema reports the field.
 */
export function parseByteSize(input: unknown): number {
  if (typeof input === 'number') return input;
  if (typeof input !== 'string') return Number.NaN;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(input);
  if (!match) return Number.NaN;
  const unit = UNITS[match[2]!.toLowerCase()];
  if (unit === undefined) return Number.NaN;
  return Math.round(Number(match[1]) * unit);
}
