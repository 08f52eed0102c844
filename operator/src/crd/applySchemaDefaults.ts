import type { JsonSchema } from './schemaDsl.js';

/**
 * Structural defaulting as the API server does it: a missing field with a
 * default gets a copy of it, then defaulting goes on inside objects (known
 * properties and additionalProperties) and array items. Returns a new value;
 * the input is not changed.
 */
export function applySchemaDefaults(schema: JsonSchema, value: unknown): unknown {
  let v =
    value === undefined && schema.default !== undefined
      ? (JSON.parse(JSON.stringify(schema.default)) as unknown)
      : value;
  if (v === null || v === undefined) return v;
  if (Array.isArray(v)) {
    return schema.items ? v.map((item) => applySchemaDefaults(schema.items!, item)) : v;
  }
  if (typeof v === 'object') {
    const src = v as Record<string, unknown>;
    const out: Record<string, unknown> = { ...src };
    if (schema.properties) {
      for (const [key, sub] of Object.entries(schema.properties)) {
        const next = applySchemaDefaults(sub, src[key]);
        if (next !== undefined) out[key] = next;
      }
    }
    if (schema.additionalProperties) {
      for (const key of Object.keys(src)) {
        if (schema.properties?.[key]) continue;
        out[key] = applySchemaDefaults(schema.additionalProperties, src[key]);
      }
    }
    v = out;
  }
  return v;
}
