import {
  ApisApi,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  KubeConfig,
  KubernetesObjectApi,
  loadYaml,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
} from '@kubernetes/client-node';
import type { CacheClusterStatus } from '../crd/CacheClusterSchema.js';
import { GROUP, PLURAL, VERSION } from '../crd/CacheClusterSchema.js';
import { FIELD_MANAGER, REPORTING_CONTROLLER } from '../controller/constants.js';
import type { ObjectRef, Observed } from '../controller/decide.js';
import type { KubeObject } from '../render/KubeObject.js';
import { LABEL_INSTANCE, LABEL_MANAGED_BY, MANAGED_BY } from '../render/names.js';
import type { Capabilities } from '../render/RenderContext.js';
import { OWNED_KINDS } from '../render/renderCluster.js';
import type { ClusterApi, RawCluster } from './ClusterApi.js';
import { httpStatusOf } from './ClusterApi.js';

const CAPABILITY_TTL_MS = 60_000;

/**
 * The rendered object (its JSON form, as in manifests) as the client's model:
 * KubernetesObjectApi serializes known kinds through their models, which name
 * some fields differently from the JSON (NetworkPolicy's `from` is `_from`) and
 * would silently drop the JSON-named field. loadYaml (JSON is YAML) maps the
 * JSON names onto the model's, so the request carries every field. Kinds the
 * client has no model for (Istio, Prometheus Operator) come back as they went in.
 */
export function toClientModel(object: KubeObject): KubernetesObject {
  return loadYaml<KubernetesObject>(JSON.stringify(object));
}

/** ClusterApi over @kubernetes/client-node. */
export class KubeClusterApi implements ClusterApi {
  private readonly objects: KubernetesObjectApi;
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;
  private readonly events: EventsV1Api;
  private readonly apis: ApisApi;
  private caps?: { at: number; value: Capabilities };

  constructor(
    kc: KubeConfig,
    private readonly instance: string,
  ) {
    this.objects = KubernetesObjectApi.makeApiClient(kc);
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.core = kc.makeApiClient(CoreV1Api);
    this.events = kc.makeApiClient(EventsV1Api);
    this.apis = kc.makeApiClient(ApisApi);
  }

  async getCluster(namespace: string, name: string): Promise<RawCluster | undefined> {
    try {
      return (await this.custom.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: PLURAL,
        name,
      })) as RawCluster;
    } catch (err) {
      if (httpStatusOf(err) === 404) return undefined;
      throw err;
    }
  }

  async listClusters(namespace?: string): Promise<{ items: RawCluster[]; resourceVersion: string }> {
    const list = (
      namespace
        ? await this.custom.listNamespacedCustomObject({
            group: GROUP,
            version: VERSION,
            namespace,
            plural: PLURAL,
          })
        : await this.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL })
    ) as { items: RawCluster[]; metadata: { resourceVersion: string } };
    return { items: list.items, resourceVersion: list.metadata.resourceVersion };
  }

  async getStatefulSet(namespace: string, name: string): Promise<Observed['statefulSet'] | undefined> {
    try {
      const sts = await this.objects.read<KubernetesObject & { status?: Record<string, unknown> }>({
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name, namespace },
      });
      return {
        generation: sts.metadata?.generation,
        status: sts.status as NonNullable<Observed['statefulSet']>['status'],
      };
    } catch (err) {
      if (httpStatusOf(err) === 404) return undefined;
      throw err;
    }
  }

  async listOwned(namespace: string, cluster: string, uid: string, caps: Capabilities): Promise<ObjectRef[]> {
    const selector = `${LABEL_INSTANCE}=${cluster},${LABEL_MANAGED_BY}=${MANAGED_BY}`;
    const refs: ObjectRef[] = [];
    for (const k of OWNED_KINDS) {
      if (
        k.apiVersion.startsWith('monitoring.coreos.com') &&
        !(k.kind === 'ServiceMonitor' ? caps.serviceMonitor : caps.prometheusRule)
      )
        continue;
      if (k.apiVersion.includes('istio.io') && !caps.istio) continue;
      const list = await this.objects.list(
        k.apiVersion,
        k.kind,
        namespace,
        undefined,
        undefined,
        undefined,
        undefined,
        selector,
      );
      for (const o of list.items) {
        const owned = (o.metadata?.ownerReferences ?? []).some((r) => r.uid === uid && r.controller);
        if (owned) refs.push({ apiVersion: k.apiVersion, kind: k.kind, namespace, name: o.metadata!.name! });
      }
    }
    return refs;
  }

  async readyPods(namespace: string, selector: string): Promise<string[]> {
    const pods = await this.core.listNamespacedPod({ namespace, labelSelector: selector });
    return pods.items
      .filter((p) => !p.metadata?.deletionTimestamp)
      .filter((p) => (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'))
      .map((p) => p.metadata!.name!);
  }

  async capabilities(): Promise<Capabilities> {
    if (this.caps && Date.now() - this.caps.at < CAPABILITY_TTL_MS) return this.caps.value;
    const groups = await this.apis.getAPIVersions();
    const has = (group: string, version: string) =>
      groups.groups.some((g) => g.name === group && g.versions.some((v) => v.version === version));
    const value: Capabilities = {
      serviceMonitor: has('monitoring.coreos.com', 'v1'),
      prometheusRule: has('monitoring.coreos.com', 'v1'),
      istio: has('networking.istio.io', 'v1') && has('security.istio.io', 'v1'),
    };
    this.caps = { at: Date.now(), value };
    return value;
  }

  async apply(object: KubeObject): Promise<void> {
    await this.objects.patch(
      toClientModel(object),
      undefined,
      undefined,
      FIELD_MANAGER,
      true,
      PatchStrategy.ServerSideApply,
    );
  }

  async delete(ref: ObjectRef): Promise<void> {
    try {
      await this.objects.delete({
        apiVersion: ref.apiVersion,
        kind: ref.kind,
        metadata: { name: ref.name, namespace: ref.namespace },
      });
    } catch (err) {
      if (httpStatusOf(err) !== 404) throw err;
    }
  }

  async setFinalizers(cluster: RawCluster, finalizers: string[]): Promise<RawCluster> {
    return (await this.custom.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        namespace: cluster.metadata.namespace!,
        plural: PLURAL,
        name: cluster.metadata.name,
        body: { metadata: { finalizers, resourceVersion: cluster.metadata.resourceVersion } },
        fieldManager: FIELD_MANAGER,
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    )) as RawCluster;
  }

  async updateStatus(cluster: RawCluster, status: CacheClusterStatus): Promise<RawCluster> {
    return (await this.custom.replaceNamespacedCustomObjectStatus({
      group: GROUP,
      version: VERSION,
      namespace: cluster.metadata.namespace!,
      plural: PLURAL,
      name: cluster.metadata.name,
      body: { ...cluster, status },
      fieldManager: FIELD_MANAGER,
    })) as RawCluster;
  }

  async recordEvent(
    cluster: RawCluster,
    eventType: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void> {
    const now = new Date();
    await this.events.createNamespacedEvent({
      namespace: cluster.metadata.namespace!,
      body: {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: { generateName: `${cluster.metadata.name}.`, namespace: cluster.metadata.namespace },
        eventTime: now,
        type: eventType,
        reason,
        note: message.slice(0, 1024),
        action: 'Reconcile',
        reportingController: REPORTING_CONTROLLER,
        reportingInstance: this.instance,
        regarding: {
          apiVersion: cluster.apiVersion,
          kind: cluster.kind,
          name: cluster.metadata.name,
          namespace: cluster.metadata.namespace,
          uid: cluster.metadata.uid,
          resourceVersion: cluster.metadata.resourceVersion,
        },
      },
    });
  }
}
