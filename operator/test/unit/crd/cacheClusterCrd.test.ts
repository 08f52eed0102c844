import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { parse as parseYaml } from 'yaml';
import { cacheClusterCrd, cacheClusterOpenApiSchema } from '../../../src/crd/cacheClusterCrd.js';
import type { JsonSchema } from '../../../src/crd/schemaDsl.js';
import { generatedFiles } from '../../../src/manifests/generatedFiles.js';
import { kubernetesModelProblems } from '../../support/kubernetesModels.js';
import { repoRoot } from '../../support/repoRoot.js';

describe('CacheCluster CRD', () => {
  it('generated files match the committed ones (run `npm run manifests:gen` after changing the schema)', () => {
    for (const f of generatedFiles()) {
      const committed = readFileSync(join(repoRoot, f.path), 'utf8');
      expect({ path: f.path, text: committed }).toEqual({ path: f.path, text: f.text });
    }
  });

  it('crds/ and the chart copy are the same document', () => {
    const a = readFileSync(join(repoRoot, 'crds/meshcache.io_cacheclusters.yaml'), 'utf8');
    const b = readFileSync(join(repoRoot, 'charts/meshcache/crds/meshcache.io_cacheclusters.yaml'), 'utf8');
    expect(b).toBe(a);
    expect(parseYaml(a)).toEqual(JSON.parse(JSON.stringify(cacheClusterCrd())));
  });

  it('validates against the kubernetes-models CustomResourceDefinition schema with unknown fields rejected', () => {
    expect(kubernetesModelProblems(cacheClusterCrd())).toEqual([]);
  });

  it('is a structural schema: every node typed, no additionalProperties beside properties, lists bounded', () => {
    const problems: string[] = [];
    const walk = (s: JsonSchema, path: string): void => {
      if (!s.type && !s['x-kubernetes-int-or-string']) problems.push(`${path}: no type`);
      if (s.properties && s.additionalProperties)
        problems.push(`${path}: properties and additionalProperties`);
      if (s.type === 'array' && s.maxItems === undefined) problems.push(`${path}: list without maxItems`);
      if (
        s.type === 'object' &&
        !s.properties &&
        !s.additionalProperties &&
        !s['x-kubernetes-preserve-unknown-fields']
      )
        problems.push(`${path}: object without a shape`);
      if (path !== '' && !s.description && !path.endsWith('.metadata') && !path.includes('metadata.'))
        problems.push(`${path}: no description`);
      for (const [k, sub] of Object.entries(s.properties ?? {})) walk(sub, `${path}.${k}`);
      if (s.items) walk(s.items, `${path}[]`);
      if (s.additionalProperties) walk(s.additionalProperties, `${path}{}`);
    };
    walk(cacheClusterOpenApiSchema(), '');
    expect(problems).toEqual([]);
  });

  it('has the scale and status subresources and printer columns', () => {
    const [v] = cacheClusterCrd().spec.versions;
    expect(v!.subresources.scale).toEqual({
      specReplicasPath: '.spec.replicas',
      statusReplicasPath: '.status.replicas',
      labelSelectorPath: '.status.selector',
    });
    expect(v!.subresources.status).toEqual({});
    expect(v!.additionalPrinterColumns.map((c) => c.name)).toEqual([
      'Replicas',
      'Ready',
      'Phase',
      'Epoch',
      'Image',
      'Age',
    ]);
  });
});
