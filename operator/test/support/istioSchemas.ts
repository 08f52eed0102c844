import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { JsonSchema } from '../../src/crd/schemaDsl.js';
import { repoRoot } from './repoRoot.js';
import { StructuralValidator } from './structuralValidator.js';

/**
 * Validators for Istio objects from the Istio CRD schemas in
 * ../shared/schemas/istio-crd-all.gen.yaml (beside the repository), with
 * unknown fields rejected and the CRDs' CEL rules evaluated.
 */
export const ISTIO_SCHEMA_FILE = join(repoRoot, '..', 'shared', 'schemas', 'istio-crd-all.gen.yaml');

interface CrdDoc {
  kind: string;
  spec: {
    group: string;
    names: { kind: string };
    versions: Array<{ name: string; schema: { openAPIV3Schema: JsonSchema } }>;
  };
}

let validators: Map<string, StructuralValidator> | undefined;

function load(): Map<string, StructuralValidator> {
  if (validators) return validators;
  validators = new Map();
  const docs = parseAllDocuments(readFileSync(ISTIO_SCHEMA_FILE, 'utf8')).map(
    (d) => d.toJS() as CrdDoc | null,
  );
  for (const d of docs) {
    if (!d || d.kind !== 'CustomResourceDefinition') continue;
    for (const v of d.spec.versions) {
      const key = `${d.spec.group}/${v.name}/${d.spec.names.kind}`;
      validators.set(key, new LazyValidator(v.schema.openAPIV3Schema) as unknown as StructuralValidator);
    }
  }
  return validators;
}

/** Compiles a schema only when first used (the file holds many). */
class LazyValidator {
  private inner?: StructuralValidator;
  constructor(private readonly schema: JsonSchema) {}
  validate(value: unknown) {
    this.inner ??= new StructuralValidator(this.schema);
    return this.inner.validate(value);
  }
}

export function isIstioKind(apiVersion: string): boolean {
  return /\.istio\.io\//.test(apiVersion);
}

export function istioProblems(obj: { apiVersion: string; kind: string }): string[] {
  const v = load().get(`${obj.apiVersion}/${obj.kind}`);
  if (!v) return [`${obj.apiVersion}/${obj.kind}: no Istio CRD schema`];
  return v.validate(obj).problems.map((p) => `${obj.kind} ${p.path}: ${p.message}`);
}
