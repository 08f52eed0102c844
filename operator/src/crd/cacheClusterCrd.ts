import {
  API_VERSION,
  GROUP,
  KIND,
  PLURAL,
  SHORT_NAMES,
  SINGULAR,
  VERSION,
  specSchema,
  statusSchema,
} from './CacheClusterSchema.js';
import type { JsonSchema } from './schemaDsl.js';

export interface PrinterColumn {
  name: string;
  type: 'integer' | 'number' | 'string' | 'boolean' | 'date';
  jsonPath: string;
  description: string;
  priority?: number;
}

/** The CustomResourceDefinition object (apiextensions.k8s.io/v1) of CacheCluster. */
export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    group: string;
    names: {
      kind: string;
      listKind: string;
      plural: string;
      singular: string;
      shortNames: string[];
      categories: string[];
    };
    scope: 'Namespaced';
    versions: Array<{
      name: string;
      served: boolean;
      storage: boolean;
      schema: { openAPIV3Schema: JsonSchema };
      subresources: {
        status: Record<string, never>;
        scale: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath: string };
      };
      additionalPrinterColumns: PrinterColumn[];
    }>;
  };
}

export const CRD_NAME = `${PLURAL}.${GROUP}`;

export const PRINTER_COLUMNS: PrinterColumn[] = [
  { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas', description: 'Desired nodes' },
  { name: 'Ready', type: 'integer', jsonPath: '.status.readyReplicas', description: 'Ready nodes' },
  { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Cluster phase' },
  { name: 'Epoch', type: 'integer', jsonPath: '.status.topologyEpoch', description: 'Topology epoch' },
  {
    name: 'Image',
    type: 'string',
    jsonPath: '.status.image',
    description: 'Node image',
    priority: 1,
  },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Age' },
];

/** The openAPIV3Schema of the CacheCluster (root object). */
export function cacheClusterOpenApiSchema(): JsonSchema {
  return {
    type: 'object',
    description: `A meshcache cluster: nodes of a distributed in-memory cache, run by the meshcache operator (${API_VERSION}).`,
    required: ['spec'],
    properties: {
      apiVersion: { type: 'string', description: 'APIVersion of the object.' },
      kind: { type: 'string', description: 'Kind of the object.' },
      metadata: {
        type: 'object',
        properties: {
          name: {
            type: 'string',
            maxLength: 52,
            description:
              'Name of the cluster; at most 52 characters so pod and Service names stay DNS labels.',
          },
        },
      },
      spec: specSchema.json,
      status: statusSchema.json,
    },
  };
}

export function cacheClusterCrd(): CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: CRD_NAME,
      labels: { 'app.kubernetes.io/name': 'meshcache', 'app.kubernetes.io/part-of': 'meshcache' },
    },
    spec: {
      group: GROUP,
      names: {
        kind: KIND,
        listKind: `${KIND}List`,
        plural: PLURAL,
        singular: SINGULAR,
        shortNames: SHORT_NAMES,
        categories: ['meshcache'],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: cacheClusterOpenApiSchema() },
          subresources: {
            status: {},
            scale: {
              specReplicasPath: '.spec.replicas',
              statusReplicasPath: '.status.replicas',
              labelSelectorPath: '.status.selector',
            },
          },
          additionalPrinterColumns: PRINTER_COLUMNS,
        },
      ],
    },
  };
}
