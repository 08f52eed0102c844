/* eslint-disable @typescript-eslint/no-explicit-any -- stores free-form JSON objects */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseYaml } from 'yaml';
import type { JsonSchema } from '../../src/crd/schemaDsl.js';
import { isKubernetesModelKind, kubernetesModelProblems } from './kubernetesModels.js';
import { StructuralValidator } from './structuralValidator.js';

/**
 * TEST DOUBLE of the Kubernetes API server: an HTTP server implementing the
 * subset of the API the operator uses, so the real @kubernetes/client-node
 * talks to it as to a cluster. Documented subset:
 *
 * - Discovery: GET /api/v1 and /apis/{group}/{version} (APIResourceList; 404
 *   for an API that is not installed).
 * - CRUD for registered resources, namespaced or cluster-wide lists, label
 *   selectors (equality `k=v` terms only). Every write bumps one global,
 *   integer resourceVersion; metadata.generation rises when anything but
 *   metadata and status changes.
 * - Optimistic concurrency: PUT and merge patches carrying
 *   metadata.resourceVersion fail with 409 Conflict when it is stale; POST of
 *   an existing name fails with 409 AlreadyExists.
 * - PATCH: application/merge-patch+json (RFC 7386) and server-side apply
 *   (application/apply-patch+yaml, fieldManager required, force). Apply is a
 *   simplified merge: each manager owns the leaf paths it applied (lists are
 *   atomic leaves, unlike the real server's merge keys); fields it owned and
 *   no longer applies are removed; a field owned by another manager with a
 *   different value is a 409 Conflict unless force=true, which takes it over.
 *   An apply that changes nothing keeps the resourceVersion (no event).
 * - Status subresource for resources registered with it: writes to the main
 *   resource ignore .status, writes to /status change only .status.
 * - Finalizers and deletion: DELETE of an object with finalizers sets
 *   deletionTimestamp (an update); the object goes once an update empties
 *   metadata.finalizers. Deleting an object deletes, in the background, the
 *   objects whose ownerReferences name its uid (garbage collection).
 * - Watch (?watch=true): newline-delimited JSON events (ADDED, MODIFIED,
 *   DELETED) after the given resourceVersion, replayed from a bounded event
 *   history; a resourceVersion older than the history gets an ERROR event
 *   with a 410 Gone Status, as the real server does. Tests can compact the
 *   history (`compact()`) and cut every open watch (`dropWatches()`).
 * - Validation: custom resources against their CRD's structural schema (with
 *   defaults, unknown fields rejected, CEL rules); Kubernetes kinds against
 *   kubernetes-models; failures are 422 Invalid with the reasons.
 * - Fault injection: `failNext()` answers the next matching requests with an
 *   error status.
 * Not implemented: authentication/authorization, field selectors, pagination,
 * strategic merge patch, JSON patch, dry run, real controllers (tests set
 * StatefulSet status with `setStatus()`).
 */
export interface ResourceType {
  group: string; // '' for the core API
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  statusSubresource?: boolean;
  scaleSubresource?: boolean;
  schema?: JsonSchema;
}

interface WatchClient {
  res: ServerResponse;
  type: ResourceType;
  namespace?: string;
  selector: Array<[string, string]>;
}

interface HistoryEvent {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  key: string;
  resource: ResourceType;
  object: any;
}

interface Fault {
  method: string;
  path: RegExp;
  status: number;
  times: number;
}

export const BUILTIN_RESOURCES: ResourceType[] = [
  { group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true },
  { group: '', version: 'v1', kind: 'Service', plural: 'services', namespaced: true },
  { group: '', version: 'v1', kind: 'Pod', plural: 'pods', namespaced: true, statusSubresource: true },
  { group: '', version: 'v1', kind: 'Event', plural: 'events', namespaced: true },
  { group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false },
  {
    group: 'apps',
    version: 'v1',
    kind: 'StatefulSet',
    plural: 'statefulsets',
    namespaced: true,
    statusSubresource: true,
  },
  {
    group: 'policy',
    version: 'v1',
    kind: 'PodDisruptionBudget',
    plural: 'poddisruptionbudgets',
    namespaced: true,
    statusSubresource: true,
  },
  {
    group: 'networking.k8s.io',
    version: 'v1',
    kind: 'NetworkPolicy',
    plural: 'networkpolicies',
    namespaced: true,
  },
  { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases', namespaced: true },
  { group: 'events.k8s.io', version: 'v1', kind: 'Event', plural: 'events', namespaced: true },
  {
    group: 'apiextensions.k8s.io',
    version: 'v1',
    kind: 'CustomResourceDefinition',
    plural: 'customresourcedefinitions',
    namespaced: false,
  },
];

/** Resource types of optional APIs (Prometheus Operator, Istio) tests may install. */
export const OPTIONAL_RESOURCES: Record<'prometheus' | 'istio', ResourceType[]> = {
  prometheus: [
    {
      group: 'monitoring.coreos.com',
      version: 'v1',
      kind: 'ServiceMonitor',
      plural: 'servicemonitors',
      namespaced: true,
    },
    {
      group: 'monitoring.coreos.com',
      version: 'v1',
      kind: 'PrometheusRule',
      plural: 'prometheusrules',
      namespaced: true,
    },
  ],
  istio: [
    {
      group: 'networking.istio.io',
      version: 'v1',
      kind: 'VirtualService',
      plural: 'virtualservices',
      namespaced: true,
    },
    {
      group: 'networking.istio.io',
      version: 'v1',
      kind: 'DestinationRule',
      plural: 'destinationrules',
      namespaced: true,
    },
    {
      group: 'security.istio.io',
      version: 'v1',
      kind: 'PeerAuthentication',
      plural: 'peerauthentications',
      namespaced: true,
    },
  ],
};

function apiVersionOf(t: ResourceType): string {
  return t.group ? `${t.group}/${t.version}` : t.version;
}

function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

function isObject(v: unknown): v is Record<string, any> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: any, patch: any): any {
  if (!isObject(patch)) return clone(patch);
  const out: Record<string, any> = isObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** Leaf paths of an applied configuration (objects recurse; arrays and scalars are leaves). */
function leafPaths(value: any, prefix: string[] = []): string[][] {
  if (!isObject(value)) return [prefix];
  const entries = Object.entries(value);
  if (entries.length === 0) return [prefix];
  return entries.flatMap(([k, v]) => leafPaths(v, [...prefix, k]));
}

function getPath(obj: any, path: string[]): any {
  let cur = obj;
  for (const p of path) {
    if (!isObject(cur)) return undefined;
    cur = cur[p];
  }
  return cur;
}

function setPath(obj: any, path: string[], value: any): void {
  let cur = obj;
  path.slice(0, -1).forEach((p) => {
    if (!isObject(cur[p])) cur[p] = {};
    cur = cur[p];
  });
  cur[path[path.length - 1]!] = clone(value);
}

function deletePath(obj: any, path: string[]): void {
  const parents: any[] = [];
  let cur = obj;
  for (const p of path.slice(0, -1)) {
    if (!isObject(cur[p])) return;
    parents.push([cur, p]);
    cur = cur[p];
  }
  delete cur[path[path.length - 1]!];
  // Drop objects left empty by the removal.
  for (const [parent, key] of parents.reverse()) {
    if (isObject(parent[key]) && Object.keys(parent[key]).length === 0) delete parent[key];
    else break;
  }
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function stripVolatile(obj: any): any {
  const c = clone(obj);
  delete c.metadata?.resourceVersion;
  delete c.metadata?.managedFields;
  delete c.metadata?.generation;
  return c;
}

class HttpError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export class FakeApiServer {
  private readonly server: Server;
  private readonly resources = new Map<string, ResourceType>(); // `${apiVersion}/${plural}`
  private readonly validators = new Map<string, StructuralValidator>();
  private readonly objects = new Map<string, any>(); // `${apiVersion}/${plural}/${ns}/${name}`
  /** field manager -> key -> owned leaf paths */
  private readonly owners = new Map<string, Map<string, string[][]>>();
  private history: HistoryEvent[] = [];
  private oldestRv = 0;
  private rv = 1;
  private readonly watches = new Set<WatchClient>();
  private readonly faults: Fault[] = [];
  readonly historyLimit: number;
  /** Every request, "METHOD path", for assertions. */
  readonly requests: string[] = [];

  constructor(options: { historyLimit?: number } = {}) {
    this.historyLimit = options.historyLimit ?? 1000;
    for (const r of BUILTIN_RESOURCES) this.registerResource(r);
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this.url;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.dropWatches();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  registerResource(type: ResourceType): void {
    this.resources.set(`${apiVersionOf(type)}/${type.plural}`, type);
    if (type.schema)
      this.validators.set(`${apiVersionOf(type)}/${type.plural}`, new StructuralValidator(type.schema));
  }

  /** Installs a CRD: stores the CustomResourceDefinition and serves its resource. */
  installCrd(crd: any): void {
    const v = crd.spec.versions.find((x: any) => x.storage);
    this.registerResource({
      group: crd.spec.group,
      version: v.name,
      kind: crd.spec.names.kind,
      plural: crd.spec.names.plural,
      namespaced: crd.spec.scope === 'Namespaced',
      statusSubresource: Boolean(v.subresources?.status),
      scaleSubresource: Boolean(v.subresources?.scale),
      schema: v.schema?.openAPIV3Schema,
    });
    this.write('apiextensions.k8s.io/v1/customresourcedefinitions', undefined, crd.metadata.name, clone(crd));
  }

  installOptional(api: 'prometheus' | 'istio'): void {
    for (const r of OPTIONAL_RESOURCES[api]) this.registerResource(r);
  }

  /** Forgets the watch history: a watch from an older resourceVersion gets 410 Gone. */
  compact(): void {
    this.history = [];
    this.oldestRv = this.rv;
  }

  /** Ends every open watch connection (the client sees the stream close). */
  dropWatches(): void {
    for (const w of this.watches) w.res.destroy();
    this.watches.clear();
  }

  get openWatches(): number {
    return this.watches.size;
  }

  /** The next `times` requests matching method and path get `status`. */
  failNext(method: string, path: RegExp, status: number, times = 1): void {
    this.faults.push({ method, path, status, times });
  }

  get(apiVersion: string, plural: string, namespace: string | undefined, name: string): any {
    return clone(this.objects.get(`${apiVersion}/${plural}/${namespace ?? ''}/${name}`));
  }

  list(apiVersion: string, plural: string, namespace?: string): any[] {
    const prefix = `${apiVersion}/${plural}/`;
    return [...this.objects.entries()]
      .filter(
        ([k, o]) => k.startsWith(prefix) && (namespace === undefined || o.metadata.namespace === namespace),
      )
      .map(([, o]) => clone(o));
  }

  /** The newest resourceVersion (every write raises it). */
  get resourceVersion(): number {
    return this.rv;
  }

  /** Direct create or replace, as another component of the cluster would (e.g. the kubelet's pods). */
  put(apiVersion: string, plural: string, obj: any): any {
    const resKey = `${apiVersion}/${plural}`;
    const type = this.resources.get(resKey)!;
    const o = clone(obj);
    o.apiVersion = apiVersion;
    o.kind = type.kind;
    return this.write(resKey, o.metadata.namespace, o.metadata.name, o);
  }

  /** Direct write, as a controller in the cluster would (e.g. StatefulSet status). */
  setStatus(apiVersion: string, plural: string, namespace: string, name: string, status: any): void {
    const key = `${apiVersion}/${plural}/${namespace}/${name}`;
    const cur = this.objects.get(key);
    if (!cur) throw new Error(`no ${key}`);
    const next = { ...clone(cur), status: clone(status) };
    this.write(`${apiVersion}/${plural}`, namespace, name, next);
  }

  /** Changes an object behind the client's back (another writer): bumps its resourceVersion. */
  touch(
    apiVersion: string,
    plural: string,
    namespace: string | undefined,
    name: string,
    annotate = 'touched',
  ): void {
    const key = `${apiVersion}/${plural}/${namespace ?? ''}/${name}`;
    const cur = clone(this.objects.get(key));
    cur.metadata.annotations = { ...(cur.metadata.annotations ?? {}), [annotate]: String(this.rv) };
    this.write(`${apiVersion}/${plural}`, namespace, name, cur);
  }

  // ---- storage ----------------------------------------------------------

  private write(resKey: string, namespace: string | undefined, name: string, obj: any, type?: 'ADDED'): any {
    const key = `${resKey}/${namespace ?? ''}/${name}`;
    const prev = this.objects.get(key);
    const resource = this.resources.get(resKey)!;
    // Finalizers gone on an object being deleted: it goes.
    if (prev && obj.metadata.deletionTimestamp && !obj.metadata.finalizers?.length) {
      return this.remove(key, resource, obj);
    }
    if (prev && sameJson(stripVolatile(prev), stripVolatile(obj))) return clone(prev);
    const rv = ++this.rv;
    obj.metadata.resourceVersion = String(rv);
    if (!prev) {
      obj.metadata.uid ??= randomUUID();
      obj.metadata.creationTimestamp ??= new Date().toISOString();
      obj.metadata.generation = 1;
    } else {
      const specOf = (o: any) => {
        const c = clone(o);
        delete c.metadata;
        delete c.status;
        return c;
      };
      obj.metadata.generation =
        (prev.metadata.generation ?? 1) + (sameJson(specOf(prev), specOf(obj)) ? 0 : 1);
    }
    this.objects.set(key, clone(obj));
    this.record({ rv, type: type ?? (prev ? 'MODIFIED' : 'ADDED'), key, resource, object: clone(obj) });
    return clone(obj);
  }

  private remove(key: string, resource: ResourceType, last: any): any {
    const rv = ++this.rv;
    const gone = clone(last);
    gone.metadata.resourceVersion = String(rv);
    this.objects.delete(key);
    for (const m of this.owners.values()) m.delete(key);
    this.record({ rv, type: 'DELETED', key, resource, object: gone });
    // Background garbage collection of dependents.
    const uid = gone.metadata.uid;
    setImmediate(() => {
      for (const [k, o] of [...this.objects.entries()]) {
        if ((o.metadata.ownerReferences ?? []).some((r: any) => r.uid === uid)) {
          const res = this.resources.get(k.split('/').slice(0, -2).join('/'))!;
          this.deleteObject(k, res);
        }
      }
    });
    return gone;
  }

  private deleteObject(key: string, resource: ResourceType): any {
    const cur = this.objects.get(key);
    if (!cur) return undefined;
    if (cur.metadata.finalizers?.length) {
      if (cur.metadata.deletionTimestamp) return clone(cur);
      const next = clone(cur);
      next.metadata.deletionTimestamp = new Date().toISOString();
      next.metadata.deletionGracePeriodSeconds = 0;
      const [resKey, ns, name] = [
        key.split('/').slice(0, -2).join('/'),
        key.split('/').at(-2),
        key.split('/').at(-1)!,
      ];
      return this.write(resKey, ns || undefined, name, next);
    }
    return this.remove(key, resource, cur);
  }

  private record(e: HistoryEvent): void {
    this.history.push(e);
    if (this.history.length > this.historyLimit) {
      const dropped = this.history.splice(0, this.history.length - this.historyLimit);
      this.oldestRv = dropped.at(-1)!.rv;
    }
    for (const w of this.watches) this.sendIfMatches(w, e);
  }

  private sendIfMatches(w: WatchClient, e: HistoryEvent): void {
    if (e.resource !== w.type) return;
    if (w.namespace !== undefined && e.object.metadata.namespace !== w.namespace) return;
    if (!this.matches(e.object, w.selector)) return;
    w.res.write(`${JSON.stringify({ type: e.type, object: e.object })}\n`);
  }

  private matches(obj: any, selector: Array<[string, string]>): boolean {
    return selector.every(([k, v]) =>
      v === '' ? k in (obj.metadata.labels ?? {}) : obj.metadata.labels?.[k] === v,
    );
  }

  // ---- HTTP -------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    this.requests.push(`${req.method} ${url.pathname}${url.search}`);
    try {
      const fault = this.faults.find((f) => f.method === req.method && f.path.test(url.pathname));
      if (fault) {
        if (--fault.times <= 0) this.faults.splice(this.faults.indexOf(fault), 1);
        throw new HttpError(
          fault.status,
          fault.status === 409 ? 'Conflict' : 'InternalError',
          'injected fault',
        );
      }
      const body = await readBody(req);
      const out = this.route(req.method ?? 'GET', url, req.headers['content-type'] ?? '', body, res);
      if (out === undefined) return; // a watch: the response stays open
      res.writeHead(out.status ?? 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(out.body));
    } catch (err) {
      const e =
        err instanceof HttpError
          ? err
          : new HttpError(500, 'InternalError', (err as Error).stack ?? String(err));
      res.writeHead(e.code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(status(e.code, e.reason, e.message)));
    }
  }

  private route(
    method: string,
    url: URL,
    contentType: string,
    body: string,
    res: ServerResponse,
  ): { status?: number; body: unknown } | undefined {
    const parts = url.pathname.split('/').filter(Boolean);
    if (method === 'GET' && parts.length === 1 && parts[0] === 'apis') {
      const groups = new Map<string, Set<string>>();
      for (const r of this.resources.values()) {
        if (!r.group) continue;
        if (!groups.has(r.group)) groups.set(r.group, new Set());
        groups.get(r.group)!.add(r.version);
      }
      return {
        body: {
          kind: 'APIGroupList',
          apiVersion: 'v1',
          groups: [...groups.entries()].map(([name, versions]) => ({
            name,
            versions: [...versions].map((v) => ({ groupVersion: `${name}/${v}`, version: v })),
            preferredVersion: { groupVersion: `${name}/${[...versions][0]}`, version: [...versions][0] },
          })),
        },
      };
    }
    // Discovery.
    if (
      method === 'GET' &&
      ((parts[0] === 'api' && parts.length === 2) || (parts[0] === 'apis' && parts.length === 3))
    ) {
      const gv = parts[0] === 'api' ? parts[1]! : `${parts[1]}/${parts[2]}`;
      const list = [...this.resources.values()].filter((r) => apiVersionOf(r) === gv);
      if (list.length === 0)
        throw new HttpError(404, 'NotFound', `the server could not find the requested resource (${gv})`);
      return {
        body: {
          kind: 'APIResourceList',
          apiVersion: 'v1',
          groupVersion: gv,
          resources: list.flatMap((r) => [
            {
              name: r.plural,
              singularName: r.kind.toLowerCase(),
              namespaced: r.namespaced,
              kind: r.kind,
              verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
            },
            ...(r.statusSubresource
              ? [
                  {
                    name: `${r.plural}/status`,
                    singularName: '',
                    namespaced: r.namespaced,
                    kind: r.kind,
                    verbs: ['get', 'patch', 'update'],
                  },
                ]
              : []),
          ]),
        },
      };
    }
    // /api/v1/... or /apis/g/v/...
    const [gv, rest] =
      parts[0] === 'api' ? [parts[1]!, parts.slice(2)] : [`${parts[1]}/${parts[2]}`, parts.slice(3)];
    let namespace: string | undefined;
    let r = rest;
    if (r[0] === 'namespaces' && r.length >= 3) {
      namespace = r[1];
      r = r.slice(2);
    }
    const [plural, name, sub] = r;
    const resKey = `${gv}/${plural}`;
    const type = this.resources.get(resKey);
    if (!type)
      throw new HttpError(404, 'NotFound', `the server could not find the requested resource (${resKey})`);
    if (type.namespaced === false) namespace = undefined;

    if (!name) {
      if (method === 'GET') {
        const selector = parseSelector(url.searchParams.get('labelSelector'));
        if (url.searchParams.get('watch') === 'true') {
          this.startWatch(res, type, namespace, selector, url);
          return undefined;
        }
        const items = this.list(gv, plural!, namespace).filter((o) => this.matches(o, selector));
        return {
          body: {
            kind: `${type.kind}List`,
            apiVersion: gv,
            metadata: { resourceVersion: String(this.rv) },
            items,
          },
        };
      }
      if (method === 'POST') {
        const obj = parseBody(body, contentType);
        return { status: 201, body: this.create(type, resKey, namespace, obj, url) };
      }
      throw new HttpError(405, 'MethodNotAllowed', `${method} on a collection`);
    }

    const key = `${resKey}/${namespace ?? ''}/${name}`;
    const cur = this.objects.get(key);
    const notFound = () =>
      new HttpError(404, 'NotFound', `${type.plural}.${type.group || 'core'} "${name}" not found`);
    if (sub && sub !== 'status') throw new HttpError(404, 'NotFound', `no subresource ${sub}`);
    if (sub === 'status' && !type.statusSubresource)
      throw new HttpError(404, 'NotFound', 'no status subresource');

    switch (method) {
      case 'GET':
        if (!cur) throw notFound();
        return { body: clone(cur) };
      case 'DELETE': {
        if (!cur) throw notFound();
        return { body: this.deleteObject(key, type) ?? status(200, 'Success', 'deleted') };
      }
      case 'PUT': {
        if (!cur) throw notFound();
        const obj = parseBody(body, contentType);
        checkRv(obj, cur);
        return { body: this.update(type, resKey, namespace, name, cur, obj, sub === 'status') };
      }
      case 'PATCH': {
        const patch = parseBody(body, contentType);
        if (contentType.startsWith('application/apply-patch+yaml')) {
          const manager = url.searchParams.get('fieldManager');
          if (!manager) throw new HttpError(400, 'BadRequest', 'PATCH with apply requires fieldManager');
          return {
            body: this.apply(
              type,
              resKey,
              namespace,
              name,
              cur,
              patch,
              manager,
              url.searchParams.get('force') === 'true',
              sub === 'status',
            ),
          };
        }
        if (contentType.startsWith('application/merge-patch+json')) {
          if (!cur) throw notFound();
          checkRv(patch, cur);
          const merged = mergePatch(cur, patch);
          return { body: this.update(type, resKey, namespace, name, cur, merged, sub === 'status') };
        }
        throw new HttpError(
          415,
          'UnsupportedMediaType',
          `patch type ${contentType} is not supported by the test server`,
        );
      }
      default:
        throw new HttpError(405, 'MethodNotAllowed', method);
    }
  }

  private create(type: ResourceType, resKey: string, namespace: string | undefined, obj: any, url: URL): any {
    obj.metadata ??= {};
    obj.metadata.namespace = type.namespaced ? (namespace ?? obj.metadata.namespace) : undefined;
    if (!obj.metadata.name && obj.metadata.generateName)
      obj.metadata.name = obj.metadata.generateName + randomUUID().slice(0, 5);
    const key = `${resKey}/${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
    if (this.objects.has(key)) {
      throw new HttpError(
        409,
        'AlreadyExists',
        `${type.plural}.${type.group || 'core'} "${obj.metadata.name}" already exists`,
      );
    }
    obj.apiVersion = apiVersionOf(type);
    obj.kind = type.kind;
    delete obj.metadata.resourceVersion;
    if (type.statusSubresource && type.schema) delete obj.status;
    const valid = this.validate(type, resKey, obj);
    const manager = url.searchParams.get('fieldManager');
    if (manager) this.own(manager, key, leafPaths(stripForOwnership(valid)));
    return this.write(resKey, obj.metadata.namespace, obj.metadata.name, valid);
  }

  private update(
    type: ResourceType,
    resKey: string,
    namespace: string | undefined,
    name: string,
    cur: any,
    obj: any,
    statusOnly: boolean,
  ): any {
    let next: any;
    if (statusOnly) {
      next = { ...clone(cur), status: clone(obj.status) };
    } else {
      next = clone(obj);
      next.apiVersion = cur.apiVersion;
      next.kind = cur.kind;
      next.metadata = {
        ...clone(obj.metadata ?? {}),
        uid: cur.metadata.uid,
        creationTimestamp: cur.metadata.creationTimestamp,
        name,
        namespace: cur.metadata.namespace,
      };
      if (cur.metadata.deletionTimestamp) next.metadata.deletionTimestamp = cur.metadata.deletionTimestamp;
      if (type.statusSubresource) next.status = clone(cur.status);
      // Finalizers cannot be added to an object being deleted.
      if (cur.metadata.deletionTimestamp) {
        const added = (next.metadata.finalizers ?? []).filter(
          (f: string) => !(cur.metadata.finalizers ?? []).includes(f),
        );
        if (added.length)
          throw new HttpError(
            422,
            'Invalid',
            `metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`,
          );
      }
    }
    const valid = this.validate(type, resKey, next);
    return this.write(resKey, namespace, name, valid);
  }

  private apply(
    type: ResourceType,
    resKey: string,
    namespace: string | undefined,
    name: string,
    cur: any,
    applied: any,
    manager: string,
    force: boolean,
    statusOnly: boolean,
  ): any {
    const key = `${resKey}/${namespace ?? ''}/${name}`;
    if (applied.metadata?.name && applied.metadata.name !== name) {
      throw new HttpError(400, 'BadRequest', 'the name of the object does not match the name in the URL');
    }
    const config = stripForOwnership(applied);
    if (statusOnly) {
      for (const k of Object.keys(config)) if (k !== 'status') delete config[k];
    } else if (type.statusSubresource) {
      delete config.status;
    }
    const paths = leafPaths(config).filter((p) => p.length > 0);
    const base = cur
      ? clone(cur)
      : { apiVersion: apiVersionOf(type), kind: type.kind, metadata: { name, namespace } };
    // Conflicts: another manager owns a leaf we set to a different value.
    const conflicts: string[] = [];
    for (const [other, byKey] of this.owners) {
      if (other === manager) continue;
      for (const p of byKey.get(key) ?? []) {
        const mine = paths.find((q) => q.join('.') === p.join('.'));
        if (mine && !sameJson(getPath(base, p), getPath(config, p)))
          conflicts.push(`.${p.join('.')} (${other})`);
      }
    }
    if (conflicts.length && !force) {
      throw new HttpError(
        409,
        'Conflict',
        `Apply failed with ${conflicts.length} conflict(s): ${conflicts.join(', ')}`,
      );
    }
    if (force) {
      for (const [other, byKey] of this.owners) {
        if (other === manager) continue;
        const kept = (byKey.get(key) ?? []).filter((p) => !paths.some((q) => q.join('.') === p.join('.')));
        byKey.set(key, kept);
      }
    }
    // Fields this manager applied before and applies no more are removed (unless another owns them).
    const before = this.owners.get(manager)?.get(key) ?? [];
    for (const p of before) {
      if (paths.some((q) => q.join('.') === p.join('.'))) continue;
      const ownedElsewhere = [...this.owners.entries()].some(
        ([m, byKey]) => m !== manager && (byKey.get(key) ?? []).some((q) => q.join('.') === p.join('.')),
      );
      if (!ownedElsewhere) deletePath(base, p);
    }
    for (const p of paths) setPath(base, p, getPath(config, p));
    base.metadata.name = name;
    if (type.namespaced) base.metadata.namespace = namespace;
    const valid = this.validate(type, resKey, base);
    this.own(manager, key, paths);
    if (!cur) {
      delete valid.metadata.resourceVersion;
      return this.write(resKey, namespace, name, valid, 'ADDED');
    }
    if (cur.metadata.deletionTimestamp) valid.metadata.deletionTimestamp = cur.metadata.deletionTimestamp;
    return this.write(resKey, namespace, name, valid);
  }

  private own(manager: string, key: string, paths: string[][]): void {
    if (!this.owners.has(manager)) this.owners.set(manager, new Map());
    this.owners.get(manager)!.set(key, paths);
  }

  private validate(type: ResourceType, resKey: string, obj: any): any {
    const v = this.validators.get(resKey);
    if (v) {
      const { metadata, status: st, ...rest } = obj;
      const r = v.validate({ ...rest, metadata: {}, ...(st === undefined ? {} : { status: st }) });
      if (!r.ok) {
        throw new HttpError(
          422,
          'Invalid',
          `${type.kind}.${type.group} "${obj.metadata?.name}" is invalid: ${r.problems.map((p) => `${p.path.replace(/^\./, '')}: Invalid value: ${p.message}`).join(', ')}`,
        );
      }
      return { ...(r.value as any), metadata };
    }
    if (isKubernetesModelKind(apiVersionOf(type), type.kind) && type.kind !== 'Lease') {
      const problems = kubernetesModelProblems(stripServerFields(obj));
      if (problems.length) {
        throw new HttpError(
          422,
          'Invalid',
          `${type.kind} "${obj.metadata?.name}" is invalid: ${problems.join('; ')}`,
        );
      }
    }
    return obj;
  }

  private startWatch(
    res: ServerResponse,
    type: ResourceType,
    namespace: string | undefined,
    selector: Array<[string, string]>,
    url: URL,
  ): void {
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    const from = Number(url.searchParams.get('resourceVersion') ?? '0');
    const w: WatchClient = { res, type, namespace, selector };
    if (from > 0 && from < this.oldestRv) {
      res.write(
        `${JSON.stringify({ type: 'ERROR', object: status(410, 'Expired', `too old resource version: ${from} (${this.oldestRv})`) })}\n`,
      );
      res.end();
      return;
    }
    if (from === 0) {
      // No resourceVersion: the current state as ADDED events, then changes.
      for (const o of this.list(apiVersionOf(type), type.plural, namespace).filter((x) =>
        this.matches(x, selector),
      )) {
        res.write(`${JSON.stringify({ type: 'ADDED', object: o })}\n`);
      }
    } else {
      for (const e of this.history) if (e.rv > from) this.sendIfMatches(w, e);
    }
    this.watches.add(w);
    const timeout = Number(url.searchParams.get('timeoutSeconds') ?? '0');
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    res.on('close', () => {
      if (timer) clearTimeout(timer);
      this.watches.delete(w);
    });
  }
}

function stripForOwnership(obj: any): any {
  const c = clone(obj ?? {});
  delete c.apiVersion;
  delete c.kind;
  if (c.metadata) {
    for (const k of [
      'name',
      'namespace',
      'resourceVersion',
      'uid',
      'generation',
      'creationTimestamp',
      'managedFields',
    ]) {
      delete c.metadata[k];
    }
    if (Object.keys(c.metadata).length === 0) delete c.metadata;
  }
  return c;
}

function stripServerFields(obj: any): any {
  const c = clone(obj);
  delete c.status;
  return c;
}

function checkRv(obj: any, cur: any): void {
  const want = obj?.metadata?.resourceVersion;
  if (want !== undefined && want !== cur.metadata.resourceVersion) {
    throw new HttpError(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${cur.kind} "${cur.metadata.name}": the object has been modified; please apply your changes to the latest version and try again`,
    );
  }
}

function parseSelector(s: string | null): Array<[string, string]> {
  if (!s) return [];
  return s.split(',').map((term) => {
    const [k, v] = term.split('=');
    return [k!.trim(), (v ?? '').trim()] as [string, string];
  });
}

function parseBody(body: string, contentType: string): any {
  if (!body) return {};
  try {
    return contentType.includes('yaml') ? parseYaml(body) : JSON.parse(body);
  } catch (err) {
    throw new HttpError(400, 'BadRequest', `cannot parse body: ${(err as Error).message}`);
  }
}

function status(code: number, reason: string, message: string): unknown {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: code < 400 ? 'Success' : 'Failure',
    message,
    reason,
    code,
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
