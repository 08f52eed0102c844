import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { CustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition';
import { Lease } from 'kubernetes-models/coordination.k8s.io/v1/Lease';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { VirtualService } from '@kubernetes-models/istio/networking.istio.io/v1/VirtualService';
import { DestinationRule } from '@kubernetes-models/istio/networking.istio.io/v1/DestinationRule';
import { PeerAuthentication } from '@kubernetes-models/istio/security.istio.io/v1/PeerAuthentication';
import type { ErrorObject } from 'ajv';
import { istioCelProblems } from './istioCelRules.js';

/**
 * Validates Kubernetes objects against the schemas of `kubernetes-models`
 * (types, required fields, enums, formats: the model's own validate()), and
 * rejects unknown fields, which those validators let through: every field of
 * the object must exist in the model's TypeScript interface, walked with the
 * TypeScript compiler's type checker over kubernetes-models' declarations.
 * Istio kinds (the apiVersions the renderer writes: networking.istio.io/v1,
 * security.istio.io/v1) come from @kubernetes-models/istio, whose models
 * leave out the CRDs' CEL rules: those are evaluated too (istioCelRules.ts).
 */
interface KindEntry {
  model: new (data: never) => { validate(): void };
  module: string;
  iface: string;
  /** Checks the model's validate() leaves out. */
  extra?: (obj: { apiVersion?: string; kind?: string }) => string[];
}

const KINDS: Record<string, KindEntry> = {
  'v1/ConfigMap': { model: ConfigMap, module: 'kubernetes-models/v1/ConfigMap', iface: 'IConfigMap' },
  'v1/Service': { model: Service, module: 'kubernetes-models/v1/Service', iface: 'IService' },
  'v1/ServiceAccount': {
    model: ServiceAccount,
    module: 'kubernetes-models/v1/ServiceAccount',
    iface: 'IServiceAccount',
  },
  'v1/Namespace': { model: Namespace, module: 'kubernetes-models/v1/Namespace', iface: 'INamespace' },
  'apps/v1/StatefulSet': {
    model: StatefulSet,
    module: 'kubernetes-models/apps/v1/StatefulSet',
    iface: 'IStatefulSet',
  },
  'apps/v1/Deployment': {
    model: Deployment,
    module: 'kubernetes-models/apps/v1/Deployment',
    iface: 'IDeployment',
  },
  'policy/v1/PodDisruptionBudget': {
    model: PodDisruptionBudget,
    module: 'kubernetes-models/policy/v1/PodDisruptionBudget',
    iface: 'IPodDisruptionBudget',
  },
  'networking.k8s.io/v1/NetworkPolicy': {
    model: NetworkPolicy,
    module: 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy',
    iface: 'INetworkPolicy',
  },
  'rbac.authorization.k8s.io/v1/ClusterRole': {
    model: ClusterRole,
    module: 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole',
    iface: 'IClusterRole',
  },
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': {
    model: ClusterRoleBinding,
    module: 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding',
    iface: 'IClusterRoleBinding',
  },
  'rbac.authorization.k8s.io/v1/Role': {
    model: Role,
    module: 'kubernetes-models/rbac.authorization.k8s.io/v1/Role',
    iface: 'IRole',
  },
  'rbac.authorization.k8s.io/v1/RoleBinding': {
    model: RoleBinding,
    module: 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding',
    iface: 'IRoleBinding',
  },
  'apiextensions.k8s.io/v1/CustomResourceDefinition': {
    model: CustomResourceDefinition,
    module: 'kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition',
    iface: 'ICustomResourceDefinition',
  },
  'coordination.k8s.io/v1/Lease': {
    model: Lease,
    module: 'kubernetes-models/coordination.k8s.io/v1/Lease',
    iface: 'ILease',
  },
  'monitoring.coreos.com/v1/ServiceMonitor': {
    model: ServiceMonitor,
    module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor',
    iface: 'IServiceMonitor',
  },
  'monitoring.coreos.com/v1/PrometheusRule': {
    model: PrometheusRule,
    module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule',
    iface: 'IPrometheusRule',
  },
  'networking.istio.io/v1/VirtualService': {
    model: VirtualService,
    module: '@kubernetes-models/istio/networking.istio.io/v1/VirtualService',
    iface: 'IVirtualService',
    extra: istioCelProblems,
  },
  'networking.istio.io/v1/DestinationRule': {
    model: DestinationRule,
    module: '@kubernetes-models/istio/networking.istio.io/v1/DestinationRule',
    iface: 'IDestinationRule',
    extra: istioCelProblems,
  },
  'security.istio.io/v1/PeerAuthentication': {
    model: PeerAuthentication,
    module: '@kubernetes-models/istio/security.istio.io/v1/PeerAuthentication',
    iface: 'IPeerAuthentication',
    extra: istioCelProblems,
  },
};

export function isKubernetesModelKind(apiVersion: string, kind: string): boolean {
  return `${apiVersion}/${kind}` in KINDS;
}

/** JSONSchemaPropsOrArray and OrBool are empty interfaces in the models; CRDs use the schema form. */
const SCHEMA_PROPS = '__JSONSchemaProps';
const SCHEMA_PROPS_ALIASES = ['IJSONSchemaPropsOrArray', 'IJSONSchemaPropsOrBool'];

let checker: { program: ts.Program; types: Map<string, ts.Type> } | undefined;

function typeChecker(): { program: ts.Program; types: Map<string, ts.Type> } {
  if (checker) return checker;
  const here = dirname(fileURLToPath(import.meta.url));
  const virtual = join(here, '__kubernetes_models_types__.ts');
  const entries = Object.entries(KINDS);
  const source =
    entries.map(([, e], i) => `import type { ${e.iface} as T${i} } from '${e.module}';`).join('\n') +
    '\nexport interface Kinds {\n' +
    entries.map(([k], i) => `  '${k}': T${i};`).join('\n') +
    `\n  '${SCHEMA_PROPS}': JSONSchemaProps;\n}\n` +
    "import type { IJSONSchemaProps as JSONSchemaProps } from 'kubernetes-models/apiextensions.k8s.io/v1/JSONSchemaProps';\n";
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) =>
    name === virtual ? ts.createSourceFile(name, source, lang) : getSourceFile(name, lang, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === virtual || fileExists(name);
  const program = ts.createProgram([virtual], options, host);
  const tc = program.getTypeChecker();
  const sf = program.getSourceFile(virtual)!;
  const kindsSymbol = tc.getExportsOfModule(tc.getSymbolAtLocation(sf)!).find((s) => s.name === 'Kinds')!;
  const kindsType = tc.getDeclaredTypeOfSymbol(kindsSymbol);
  const types = new Map<string, ts.Type>();
  for (const prop of kindsType.getProperties()) {
    types.set(prop.name, tc.getTypeOfSymbol(prop));
  }
  checker = { program, types };
  return checker;
}

/** Object member types of a (possibly union) type, without undefined/null. */
function objectParts(tc: ts.TypeChecker, type: ts.Type): ts.Type[] {
  const parts = type.isUnion() ? type.types : [type];
  return parts
    .filter((t) => (t.flags & ts.TypeFlags.Object) !== 0 || (t.flags & ts.TypeFlags.Intersection) !== 0)
    .filter((t) => !tc.isArrayType(t));
}

function unknownFields(tc: ts.TypeChecker, type: ts.Type, value: unknown, path: string, out: string[]): void {
  if (value === null || value === undefined) return;
  if ((type.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) !== 0) return;
  const parts = type.isUnion() ? type.types : [type];
  if (Array.isArray(value)) {
    const arr = parts.find((t) => tc.isArrayType(t));
    if (!arr) return; // the model's validate() reports the type mismatch
    const [item] = tc.getTypeArguments(arr as ts.TypeReference);
    value.forEach((v, i) => unknownFields(tc, item!, v, `${path}[${i}]`, out));
    return;
  }
  if (typeof value !== 'object') return;
  let objects = objectParts(tc, type);
  if (objects.length === 0) return;
  if (objects.some((o) => SCHEMA_PROPS_ALIASES.includes(o.getSymbol()?.name ?? ''))) {
    objects = [typeChecker().types.get(SCHEMA_PROPS)!];
  }
  // Empty interfaces stand for free-form JSON in the models.
  if (objects.every((o) => o.getProperties().length === 0 && !o.getStringIndexType())) return;
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    let found: ts.Type | undefined;
    for (const o of objects) {
      const prop = o.getProperty(key);
      if (prop) {
        found = tc.getNonNullableType(tc.getTypeOfSymbol(prop));
        break;
      }
      const index = o.getStringIndexType();
      if (index) {
        found = index;
        break;
      }
    }
    if (!found) {
      out.push(`${path}.${key}: unknown field ${JSON.stringify(key)}`);
      continue;
    }
    unknownFields(tc, found, v, `${path}.${key}`, out);
  }
}

/** One problem per ajv error of the model's validate() (path, message; enums list their values). */
function modelErrors(key: string, err: unknown): string[] {
  const errors = (err as { errors?: ErrorObject[] }).errors;
  if (!Array.isArray(errors) || errors.length === 0) return [`${key}: ${(err as Error).message}`];
  return errors.map((e) => {
    // JSON pointer to the unknown-field walk's form: .spec.http[0].timeout
    const path = e.instancePath
      .split('/')
      .slice(1)
      .map((seg) => seg.replace(/~1/g, '/').replace(/~0/g, '~'))
      .map((seg) => (/^\d+$/.test(seg) ? `[${seg}]` : `.${seg}`))
      .join('');
    const message =
      e.keyword === 'enum'
        ? `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`
        : e.message;
    return `${key}${path}: ${message}`;
  });
}

/**
 * Problems of one object: model validation errors, unknown fields and (for
 * Istio kinds) the CRDs' CEL rules. Empty when valid.
 */
export function kubernetesModelProblems(obj: { apiVersion?: string; kind?: string }): string[] {
  const key = `${obj.apiVersion}/${obj.kind}`;
  const entry = KINDS[key];
  if (!entry) return [`${key}: no kubernetes-models schema known to the test`];
  const problems: string[] = [];
  try {
    new entry.model(structuredClone(obj) as never).validate();
  } catch (err) {
    problems.push(...modelErrors(key, err));
  }
  const { program, types } = typeChecker();
  unknownFields(program.getTypeChecker(), types.get(key)!, obj, key, problems);
  if (entry.extra) problems.push(...entry.extra(obj));
  return problems;
}
