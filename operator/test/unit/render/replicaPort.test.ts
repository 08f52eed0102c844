/* eslint-disable @typescript-eslint/no-explicit-any -- tests read rendered JSON by path */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { parseAllDocuments } from 'yaml';
import { DEFAULT_NODE_OPTIONS, loadNodeConfig } from '@meshcache/node';
import type { CacheCluster } from '../../../src/crd/CacheClusterSchema.js';
import { normalizeCluster } from '../../../src/crd/normalizeCluster.js';
import type { KubeObject } from '../../../src/render/KubeObject.js';
import { NO_CAPABILITIES, type Capabilities, type RenderContext } from '../../../src/render/RenderContext.js';
import { renderCluster } from '../../../src/render/renderCluster.js';
import { repoRoot } from '../../support/repoRoot.js';

// The node-to-node replica port (the Replica service): on the pods, the
// headless Service and in the node config; not on the client Service; in the
// mesh with mTLS.

const ctx: RenderContext = { defaultImage: 'meshcache/node:0.1.0', clusterDomain: 'cluster.local' };
const ISTIO: Capabilities = { ...NO_CAPABILITIES, istio: true };

function cluster(spec: Record<string, unknown>): CacheCluster {
  return normalizeCluster({
    apiVersion: 'meshcache.io/v1alpha1',
    kind: 'CacheCluster',
    metadata: { name: 'c1', namespace: 'ns1', uid: 'uid-1', generation: 1 },
    spec,
  });
}

function find(objects: KubeObject[], kind: string, name?: string): Record<string, any> {
  const o = objects.find((x) => x.kind === kind && (name === undefined || x.metadata.name === name));
  if (!o) throw new Error(`no ${kind} ${name ?? ''}`);
  return o as Record<string, any>;
}

describe('replica port', () => {
  it('defaults to the node default, 7071', () => {
    expect(cluster({}).spec.ports.replica).toBe(7071);
    expect(DEFAULT_NODE_OPTIONS.replicaPort).toBe(7071);
  });

  it.each<[string, Record<string, unknown>, number]>([
    ['default', {}, 7071],
    ['set', { ports: { replica: 9100 } }, 9100],
  ])(
    'is a container port, a headless Service port (gRPC) and not a client Service port (%s)',
    (_n, spec, port) => {
      const objects = renderCluster(cluster(spec), ctx, NO_CAPABILITIES);
      const c = find(objects, 'StatefulSet').spec.template.spec.containers[0];
      expect(c.ports).toContainEqual({ name: 'grpc-replica', containerPort: port, protocol: 'TCP' });
      const headless = find(objects, 'Service', 'c1-headless');
      expect(headless.spec.ports).toContainEqual({
        name: 'grpc-replica',
        port,
        targetPort: port,
        protocol: 'TCP',
        appProtocol: 'grpc',
      });
      const client = find(objects, 'Service', 'c1');
      expect(client.spec.ports.map((p: any) => p.port)).not.toContain(port);
      const yaml = find(objects, 'ConfigMap').data['node.yaml'] as string;
      expect(yaml).toMatch(new RegExp(`^replicaPort: ${port}$`, 'm'));
    },
  );

  it('the node reads the rendered replicaPort', () => {
    const yaml = find(renderCluster(cluster({ ports: { replica: 9100 } }), ctx, NO_CAPABILITIES), 'ConfigMap')
      .data['node.yaml'];
    const dir = mkdtempSync(join(tmpdir(), 'meshcache-op-'));
    try {
      const file = join(dir, 'node.yaml');
      writeFileSync(file, yaml);
      const options = loadNodeConfig({
        argv: [],
        env: { MESHCACHE_CONFIG: file, MESHCACHE_ID: 'c1-0', MESHCACHE_HOST: 'c1-0.c1-headless' },
      });
      expect(options.replicaPort).toBe(9100);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a changed replica port rolls the pods (config hash)', () => {
    const hash = (spec: Record<string, unknown>) =>
      find(renderCluster(cluster(spec), ctx, NO_CAPABILITIES), 'StatefulSet').spec.template.metadata
        .annotations['meshcache.io/config-hash'];
    expect(hash({})).not.toBe(hash({ ports: { replica: 9100 } }));
  });

  it('sidecar mode captures the replica port (only gossip is excluded)', () => {
    const meta = find(
      renderCluster(cluster({ mesh: { enabled: true }, ports: { replica: 9100 } }), ctx, NO_CAPABILITIES),
      'StatefulSet',
    ).spec.template.metadata;
    expect(meta.annotations['traffic.sidecar.istio.io/excludeInboundPorts']).toBe('7946');
    expect(meta.annotations['traffic.sidecar.istio.io/excludeOutboundPorts']).toBe('7946');
  });

  it.each(['STRICT', 'PERMISSIVE'])(
    'PeerAuthentication puts the replica port under spec.mesh.mtls (%s)',
    (mtls) => {
      const pa = find(
        renderCluster(cluster({ mesh: { enabled: true, mtls } }), ctx, ISTIO),
        'PeerAuthentication',
      );
      expect(pa.spec.mtls).toEqual({ mode: mtls });
      expect(pa.spec.portLevelMtls).toEqual({
        '7946': { mode: 'DISABLE' },
        '8080': { mode: 'PERMISSIVE' },
        '7071': { mode: mtls },
      });
    },
  );

  it('the client VirtualService and DestinationRule do not route the replica port', () => {
    const objects = renderCluster(cluster({ mesh: { enabled: true } }), ctx, ISTIO);
    const vs = find(objects, 'VirtualService');
    expect(vs.spec.hosts).toEqual(['c1.ns1.svc.cluster.local']);
    expect(JSON.stringify(vs.spec)).not.toContain('7071');
    expect(find(objects, 'DestinationRule').spec.host).toBe('c1.ns1.svc.cluster.local');
  });

  it('istio/peerauthentication.yaml lists the replica port STRICT', () => {
    const pa = parseAllDocuments(
      readFileSync(join(repoRoot, 'istio/peerauthentication.yaml'), 'utf8'),
    )[0]!.toJS();
    expect(pa.spec.mtls.mode).toBe('STRICT');
    expect(pa.spec.portLevelMtls['7071']).toEqual({ mode: 'STRICT' });
  });
});
