const BYTE_UNITS: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
};

/** Bytes of a size such as "256Mi", "1G" or "1024" (the CRD's byte-size syntax); NaN if malformed. */
export function parseBytes(text: string): number {
  const m = /^([0-9]+)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(text);
  if (!m) return Number.NaN;
  return Number(m[1]) * BYTE_UNITS[m[2] ?? '']!;
}

const QUANTITY_SUFFIX: Record<string, number> = {
  ...BYTE_UNITS,
  Pi: 1024 ** 5,
  Ei: 1024 ** 6,
  P: 1e15,
  E: 1e18,
  m: 1e-3,
  u: 1e-6,
  n: 1e-9,
};

/** Value of a Kubernetes quantity ("768Mi", "1.5Gi", "500m", 2, "1e3"); NaN if malformed. */
export function parseQuantity(q: string | number): number {
  if (typeof q === 'number') return q;
  const m = /^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(?:([eE][+-]?[0-9]+)|([a-zA-Z]*))$/.exec(q.trim());
  if (!m) return Number.NaN;
  if (m[2]) return Number(m[1] + m[2]);
  const factor = QUANTITY_SUFFIX[m[3] ?? ''];
  return factor === undefined ? Number.NaN : Number(m[1]) * factor;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds of a duration such as "30m", "1h30m", "1.5s", "0s"; NaN if malformed. */
export function parseDurationMs(text: string): number {
  if (!/^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/.test(text)) return Number.NaN;
  let total = 0;
  for (const m of text.matchAll(/([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g)) {
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
  }
  return Math.round(total);
}
