/**
 * A small typed builder for Kubernetes structural OpenAPI v3 schemas. Each
 * builder returns the JSON schema that goes into the CRD and, at the type
 * level, the TypeScript type of a value after the API server applied the
 * schema's defaults, so the CRD, the operator's types and its defaulting all
 * come from one source (see CacheClusterSchema.ts).
 */

/** One CEL rule (`x-kubernetes-validations`). */
export interface CelRule {
  rule: string;
  message: string;
  /** Field the API server reports the error on, relative to the schema's node. */
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

/** The subset of JSONSchemaProps this builder emits (all structural). */
export interface JsonSchema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema;
  items?: JsonSchema;
  enum?: unknown[];
  default?: unknown;
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  maxProperties?: number;
  anyOf?: JsonSchema[];
  'x-kubernetes-validations'?: CelRule[];
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-map-type'?: 'granular' | 'atomic';
}

/** A schema node whose values have type T after defaulting; D tells whether it carries a default. */
export interface Schema<T, D extends boolean = boolean> {
  readonly json: JsonSchema;
  /** Type-level only. */
  readonly __type?: T;
  readonly __hasDefault?: D;
}

export type TypeOf<S> = S extends Schema<infer T, boolean> ? T : never;

interface Common<T> {
  description: string;
  default?: T;
  rules?: CelRule[];
}

type WithDefault<T, O> = O extends { default: unknown } ? Schema<T, true> : Schema<T, false>;

function node<T, O extends Common<T>>(json: JsonSchema, o: O): WithDefault<T, O> {
  const out: JsonSchema = { ...json, description: o.description };
  if (o.default !== undefined) out.default = o.default;
  if (o.rules?.length) out['x-kubernetes-validations'] = o.rules;
  return { json: out } as WithDefault<T, O>;
}

export function str<O extends Common<string> & { pattern?: string; minLength?: number; maxLength?: number }>(
  o: O,
): WithDefault<string, O> {
  const json: JsonSchema = { type: 'string' };
  if (o.pattern !== undefined) json.pattern = o.pattern;
  if (o.minLength !== undefined) json.minLength = o.minLength;
  if (o.maxLength !== undefined) json.maxLength = o.maxLength;
  return node(json, o);
}

export function oneOf<const V extends string, O extends Common<V>>(
  values: readonly V[],
  o: O,
): WithDefault<V, O> {
  return node({ type: 'string', enum: [...values] }, o);
}

export function int<
  O extends Common<number> & { minimum?: number; maximum?: number; format?: 'int32' | 'int64' },
>(o: O): WithDefault<number, O> {
  const json: JsonSchema = { type: 'integer', format: o.format ?? 'int32' };
  if (o.minimum !== undefined) json.minimum = o.minimum;
  if (o.maximum !== undefined) json.maximum = o.maximum;
  return node(json, o);
}

/** A JSON number (CEL double), e.g. a share 0..1. */
export function num<O extends Common<number> & { minimum?: number; maximum?: number }>(
  o: O,
): WithDefault<number, O> {
  const json: JsonSchema = { type: 'number', format: 'double' };
  if (o.minimum !== undefined) json.minimum = o.minimum;
  if (o.maximum !== undefined) json.maximum = o.maximum;
  return node(json, o);
}

export function bool<O extends Common<boolean>>(o: O): WithDefault<boolean, O> {
  return node({ type: 'boolean' }, o);
}

/** Kubernetes quantity syntax (resource.Quantity). */
export const QUANTITY_PATTERN =
  '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';

/** An integer or a quantity string, as in container resources. */
export function quantity<O extends Common<number | string>>(o: O): WithDefault<number | string, O> {
  return node(
    {
      anyOf: [{ type: 'integer' }, { type: 'string' }],
      pattern: QUANTITY_PATTERN,
      'x-kubernetes-int-or-string': true,
    },
    o,
  );
}

export function map<V, O extends Common<unknown> & { maxProperties?: number }>(
  values: Schema<V>,
  o: O,
): WithDefault<Record<string, V>, O> {
  const json: JsonSchema = { type: 'object', additionalProperties: values.json };
  if (o.maxProperties !== undefined) json.maxProperties = o.maxProperties;
  return node(json, o as Common<unknown>) as unknown as WithDefault<Record<string, V>, O>;
}

export function list<
  V,
  O extends Common<unknown> & {
    minItems?: number;
    maxItems: number;
    listType?: 'atomic' | 'set' | 'map';
    mapKeys?: string[];
  },
>(items: Schema<V>, o: O): WithDefault<V[], O> {
  const json: JsonSchema = { type: 'array', items: items.json, maxItems: o.maxItems };
  if (o.minItems !== undefined) json.minItems = o.minItems;
  if (o.listType !== undefined) json['x-kubernetes-list-type'] = o.listType;
  if (o.mapKeys !== undefined) json['x-kubernetes-list-map-keys'] = o.mapKeys;
  return node(json, o as Common<unknown>) as unknown as WithDefault<V[], O>;
}

/** An object kept as is (only its being an object is checked here). */
export function opaque<O extends Common<Record<string, unknown>>>(
  o: O,
): WithDefault<Record<string, unknown>, O> {
  return node({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, o);
}

type Props = Record<string, Schema<unknown>>;
type Simplify<T> = { [K in keyof T]: T[K] } & {};
/** Keys present after defaulting: required ones and those with a default. */
type Present<P extends Props, R> = {
  [K in keyof P]: K extends R ? K : P[K] extends Schema<unknown, true> ? K : never;
}[keyof P];
export type ObjectOf<P extends Props, R> = Simplify<
  { [K in Present<P, R>]: TypeOf<P[K]> } & { [K in Exclude<keyof P, Present<P, R>>]?: TypeOf<P[K]> }
>;

export function obj<
  P extends Props,
  R extends keyof P & string = never,
  O extends Common<unknown> = Common<unknown>,
>(properties: P, o: O & { required?: readonly R[] }): WithDefault<ObjectOf<P, R>, O> {
  const json: JsonSchema = {
    type: 'object',
    properties: Object.fromEntries(Object.entries(properties).map(([k, s]) => [k, s.json])),
  };
  if (o.required?.length) json.required = [...o.required];
  return node(json, o as Common<ObjectOf<P, R>>) as unknown as WithDefault<ObjectOf<P, R>, O>;
}
