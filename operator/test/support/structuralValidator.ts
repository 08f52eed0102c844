import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { evaluate, parse } from '@marcbachmann/cel-js';
import { applySchemaDefaults } from '../../src/crd/applySchemaDefaults.js';
import type { JsonSchema } from '../../src/crd/schemaDsl.js';

/**
 * Validates objects against a CRD's structural openAPIV3Schema the way the
 * API server does, for tests: defaults first, then OpenAPI validation with
 * unknown fields rejected (the API server prunes them; a test wants to know),
 * list-type map/set uniqueness, and every x-kubernetes-validations CEL rule,
 * evaluated with @marcbachmann/cel-js (integers as CEL ints). Not covered:
 * CEL cost limits, transition rules (oldSelf), Kubernetes CEL libraries
 * (quantity, url, ...): the schema uses none of them.
 */
export interface StructuralProblem {
  path: string;
  message: string;
}

export interface StructuralResult {
  ok: boolean;
  problems: StructuralProblem[];
  /** The defaulted value. */
  value: unknown;
}

const X_KEYS = [
  'x-kubernetes-validations',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-int-or-string',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-map-type',
  'x-kubernetes-embedded-resource',
];

/** JSON schema for ajv: closed objects, no Kubernetes extensions. */
export function toClosedJsonSchema(schema: JsonSchema, atRoot = true): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    if (X_KEYS.includes(k) || k === 'default' || k === 'description') continue;
    if (k === 'properties') {
      out[k] = Object.fromEntries(
        Object.entries(v as Record<string, JsonSchema>).map(([p, s]) => [p, toClosedJsonSchema(s, false)]),
      );
    } else if (k === 'items' || k === 'additionalProperties') {
      out[k] = toClosedJsonSchema(v as JsonSchema, false);
    } else if (k === 'anyOf' || k === 'allOf' || k === 'oneOf') {
      out[k] = (v as JsonSchema[]).map((s) => toClosedJsonSchema(s, false));
    } else if (k === 'format') {
      continue; // int32, int64, double, date-time, byte...: types already say enough here
    } else {
      out[k] = v;
    }
  }
  if (schema.type === 'object' && schema.properties && !schema['x-kubernetes-preserve-unknown-fields']) {
    out['additionalProperties'] = false;
  }
  // apiVersion, kind and metadata are implicit at the root; ObjectMeta is
  // validated by the API server itself, not by the CRD schema.
  if (atRoot && out['properties']) {
    Object.assign(out['properties'] as Record<string, unknown>, {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { type: 'object' },
    });
  }
  return out;
}

function pointer(path: string): string {
  return path === '' ? '<root>' : path;
}

function ajvMessage(e: ErrorObject): string {
  if (e.keyword === 'additionalProperties') {
    return `unknown field "${(e.params as { additionalProperty: string }).additionalProperty}"`;
  }
  if (e.keyword === 'enum') {
    return `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  return e.message ?? e.keyword;
}

/** Converts JSON numbers to the CEL types the schema gives them (integers as int). */
function toCel(schema: JsonSchema | undefined, value: unknown): unknown {
  if (value === null || value === undefined || !schema) return value;
  if (schema.type === 'integer' && typeof value === 'number') return BigInt(value);
  if (schema['x-kubernetes-int-or-string'] && typeof value === 'number') return BigInt(value);
  if (Array.isArray(value)) return Array.from(value as unknown[], (v) => toCel(schema.items, v));
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = toCel(schema.properties?.[k] ?? schema.additionalProperties, v);
    }
    return out;
  }
  return value;
}

function walkRules(schema: JsonSchema, value: unknown, path: string, problems: StructuralProblem[]): void {
  if (value === undefined || value === null) return;
  for (const rule of schema['x-kubernetes-validations'] ?? []) {
    let ok: unknown;
    try {
      ok = evaluate(rule.rule, { self: toCel(schema, value) });
    } catch (err) {
      problems.push({
        path: pointer(path),
        message: `rule "${rule.rule}" failed to evaluate: ${(err as Error).message}`,
      });
      continue;
    }
    if (ok !== true) problems.push({ path: pointer(path + (rule.fieldPath ?? '')), message: rule.message });
  }
  if (Array.isArray(value)) {
    const type = schema['x-kubernetes-list-type'];
    if (type === 'map' || type === 'set') {
      const keys = value.map((item) =>
        JSON.stringify(
          type === 'map'
            ? (schema['x-kubernetes-list-map-keys'] ?? []).map((k) => (item as Record<string, unknown>)[k])
            : item,
        ),
      );
      keys.forEach((k, i) => {
        if (keys.indexOf(k) !== i)
          problems.push({ path: pointer(`${path}[${i}]`), message: `Duplicate value: ${k}` });
      });
    }
    if (schema.items) value.forEach((item, i) => walkRules(schema.items!, item, `${path}[${i}]`, problems));
    return;
  }
  if (typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const sub = schema.properties?.[k] ?? schema.additionalProperties;
      if (sub) walkRules(sub, v, `${path}.${k}`, problems);
    }
  }
}

export class StructuralValidator {
  private readonly check: ValidateFunction;

  constructor(private readonly schema: JsonSchema) {
    const ajv = new Ajv({ allErrors: true, strict: false });
    this.check = ajv.compile(toClosedJsonSchema(schema));
    // Every CEL rule must at least parse.
    const rules: string[] = [];
    const collect = (s: JsonSchema): void => {
      for (const r of s['x-kubernetes-validations'] ?? []) rules.push(r.rule);
      Object.values(s.properties ?? {}).forEach(collect);
      if (s.items) collect(s.items);
      if (s.additionalProperties) collect(s.additionalProperties);
    };
    collect(schema);
    for (const r of rules) parse(r);
  }

  validate(value: unknown): StructuralResult {
    const defaulted = applySchemaDefaults(this.schema, value);
    const problems: StructuralProblem[] = [];
    if (!this.check(defaulted)) {
      for (const e of this.check.errors ?? []) {
        // anyOf branches repeat the same failure: keep the summary.
        if (e.keyword === 'type' && e.schemaPath.includes('anyOf')) continue;
        problems.push({ path: pointer(e.instancePath.replace(/\//g, '.')), message: ajvMessage(e) });
      }
    } else {
      walkRules(this.schema, defaulted, '', problems);
    }
    return { ok: problems.length === 0, problems, value: defaulted };
  }
}
