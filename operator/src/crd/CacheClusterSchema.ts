import { bool, int, list, map, num, obj, oneOf, opaque, quantity, str, type TypeOf } from './schemaDsl.js';

/**
 * The CacheCluster resource (meshcache.io/v1alpha1): the one schema source.
 * crds/, the chart's copy of the CRD, the operator's types and its defaulting
 * are all derived from here (`npm run manifests:gen`; a test fails on drift).
 * Only fields the product honours are here.
 */
export const GROUP = 'meshcache.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'CacheCluster';
export const PLURAL = 'cacheclusters';
export const SINGULAR = 'cachecluster';
export const SHORT_NAMES = ['mcc'];

const DURATION_PATTERN = '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$';
const BYTE_SIZE_PATTERN = '^[0-9]+(Ki|Mi|Gi|Ti|k|M|G|T)?$';
const LABEL_VALUE = str({ description: 'Label value.', maxLength: 63 });
const ANNOTATION_VALUE = str({ description: 'Annotation value.' });
const RESERVED_LABELS = [
  'app.kubernetes.io/name',
  'app.kubernetes.io/instance',
  'app.kubernetes.io/managed-by',
];

const ALL_PORTS = ['grpc', 'admin', 'gossip', 'redis', 'replica'].map((p) => `self.${p}`).join(', ');

/**
 * The node's own defaults of the spec.replication settings (node/src/config/
 * NodeOptions.ts, DEFAULT_NODE_OPTIONS; a test keeps them equal): they apply
 * when a field is left out, and the CEL rule compares against them.
 */
export const NODE_REPLICATION_DEFAULTS = {
  maxClockSkew: '500ms',
  tombstoneGrace: '10m',
  maxHintAge: '5m',
  readRepairChance: 0.1,
} as const;

const replicationDuration = (description: string, field: keyof typeof NODE_REPLICATION_DEFAULTS) =>
  str({
    description: `${description} A duration such as "500ms", "10m", "1h30m", at least 1ms. Default: the node's, ${NODE_REPLICATION_DEFAULTS[field]}.`,
    pattern: DURATION_PATTERN,
    maxLength: 32,
    rules: [{ rule: "duration(self) >= duration('1ms')", message: 'must be at least 1ms' }],
  });

const orDefault = (field: 'maxHintAge' | 'tombstoneGrace') =>
  `duration(has(self.${field}) ? self.${field} : '${NODE_REPLICATION_DEFAULTS[field]}')`;

export const replicationSchema = obj(
  {
    maxClockSkew: replicationDuration(
      "Most a write's version may be ahead of a node's clock (such writes are refused), and most a node's clock may be off its peers' before it stops coordinating writes.",
      'maxClockSkew',
    ),
    tombstoneGrace: replicationDuration(
      'How long deletes, expiries and eviction markers are kept as tombstones before they may be purged; longer covers longer node outages without deleted values coming back, at the cost of memory.',
      'tombstoneGrace',
    ),
    maxHintAge: replicationDuration(
      'A hint (a write kept for a replica that was down) older than this is dropped, not replayed; must be shorter than tombstoneGrace.',
      'maxHintAge',
    ),
    readRepairChance: num({
      description: `Share (0..1) of reads at ONE that also check the other copies and repair them in the background. Default: the node's, ${NODE_REPLICATION_DEFAULTS.readRepairChance}.`,
      minimum: 0,
      maximum: 1,
    }),
  },
  {
    description:
      "Replication settings of every node (they matter to caches whose replicationFactor is above 1). A field left out takes the node's default.",
    default: {},
    rules: [
      {
        rule: `${orDefault('maxHintAge')} < ${orDefault('tombstoneGrace')}`,
        message: `replication.maxHintAge must be shorter than replication.tombstoneGrace (node defaults ${NODE_REPLICATION_DEFAULTS.maxHintAge} and ${NODE_REPLICATION_DEFAULTS.tombstoneGrace} when left out): a hint replayed after a tombstone was purged could bring a deleted value back`,
        fieldPath: '.maxHintAge',
      },
    ],
  },
);

const port = (description: string, dflt: number) =>
  int({ description: `${description} Default ${dflt}.`, minimum: 1, maximum: 65535, default: dflt });

export const cacheSchema = obj(
  {
    name: str({
      description: 'Cache name, as clients pass it (--cache, the cache option).',
      pattern: '^[a-z0-9]([a-z0-9._-]{0,62})$',
      maxLength: 63,
    }),
    replicationFactor: int({
      description:
        "Copies of each entry, on distinct members (and zones, with scheduling.zoneAware); at most spec.replicas. The node also caps it at the current member count (logged and shown in /v1/info), e.g. while pods are still joining. Default 1: the node's own default, 3, is not the CRD's, since it would make clusters of one or two nodes invalid.",
      minimum: 1,
      maximum: 7,
      default: 1,
    }),
    defaultConsistency: oneOf(['ONE', 'QUORUM', 'ALL'], {
      description:
        'Consistency level of requests that do not name one: ONE, QUORUM (a majority of the copies) or ALL. Default ONE.',
      default: 'ONE',
    }),
    defaultTtl: str({
      description:
        'TTL of writes that ask for the cache default, as a duration ("30m", "1h30m"); "0s" = none.',
      pattern: DURATION_PATTERN,
      default: '0s',
    }),
    maxMemory: str({
      description:
        'Memory budget of the cache on each node, e.g. "512Mi": it bounds everything the cache\'s store allocates (segments, index, TTL array, large items, a fixed part); an item costs its key and value plus about 46 bytes (32-byte header, 8-byte alignment, index slot). Default 256Mi.',
      pattern: BYTE_SIZE_PATTERN,
      default: '256Mi',
    }),
    maxValueSize: str({
      description: 'Largest value accepted, e.g. "1Mi"; at most maxMemory. Default 1Mi.',
      pattern: BYTE_SIZE_PATTERN,
      default: '1Mi',
    }),
    evictionPolicy: oneOf(['s3fifo', 'lru'], {
      description: 'What goes when the budget is full: s3fifo (default) or lru.',
      default: 's3fifo',
    }),
  },
  { description: 'One named cache the cluster serves.', required: ['name'] },
);

const tolerationSchema = obj(
  {
    key: str({ description: 'Taint key; empty with operator Exists matches every taint.', maxLength: 316 }),
    operator: oneOf(['Exists', 'Equal'], { description: 'Exists or Equal (default).' }),
    value: str({ description: 'Taint value, for operator Equal.', maxLength: 63 }),
    effect: oneOf(['NoSchedule', 'PreferNoSchedule', 'NoExecute'], {
      description: 'Taint effect to match; empty matches all.',
    }),
    tolerationSeconds: int({
      description: 'For NoExecute: how long the pod stays bound after the taint appears.',
      format: 'int64',
      minimum: 0,
    }),
  },
  {
    description: 'A toleration, as in a pod spec.',
    rules: [
      {
        rule: "!has(self.operator) || self.operator != 'Exists' || !has(self.value) || self.value == ''",
        message: 'a toleration with operator Exists must not set value',
      },
    ],
  },
);

const topologySpreadSchema = obj(
  {
    maxSkew: int({ description: 'Largest allowed difference in pod count between domains.', minimum: 1 }),
    topologyKey: str({ description: 'Node label that defines a domain.', minLength: 1, maxLength: 316 }),
    whenUnsatisfiable: oneOf(['DoNotSchedule', 'ScheduleAnyway'], {
      description: 'What the scheduler does when the skew cannot be kept.',
    }),
    labelSelector: opaque({
      description: "Pods counted; default: this cluster's pods.",
    }),
    minDomains: int({ description: 'Least number of eligible domains.', minimum: 1 }),
    matchLabelKeys: list(str({ description: 'Pod label key.', maxLength: 316 }), {
      description: 'Pod label keys whose values select the pods counted with labelSelector.',
      maxItems: 16,
      listType: 'atomic',
    }),
    nodeAffinityPolicy: oneOf(['Honor', 'Ignore'], {
      description: 'Whether node affinity limits the domains.',
    }),
    nodeTaintsPolicy: oneOf(['Honor', 'Ignore'], { description: 'Whether node taints limit the domains.' }),
  },
  {
    description: 'A topology spread constraint, as in a pod spec.',
    required: ['maxSkew', 'topologyKey', 'whenUnsatisfiable'],
  },
);

const conditionSchema = obj(
  {
    type: oneOf(['Available', 'Progressing', 'Degraded'], { description: 'Condition type.' }),
    status: oneOf(['True', 'False', 'Unknown'], { description: 'True, False or Unknown.' }),
    reason: str({ description: 'CamelCase reason.', maxLength: 1024 }),
    message: str({ description: 'Human-readable detail.', maxLength: 32768 }),
    lastTransitionTime: str({ description: 'When status last changed.' }),
    observedGeneration: int({ description: 'Generation the condition was computed from.', format: 'int64' }),
  },
  {
    description: 'A status condition (metav1.Condition).',
    required: ['type', 'status', 'reason', 'message', 'lastTransitionTime'],
  },
);

export const specSchema = obj(
  {
    replicas: int({
      description: 'Number of cache nodes (pods). The scale subresource drives this field. Default 3.',
      minimum: 1,
      maximum: 1000,
      default: 3,
    }),
    image: str({
      description: "Node image; default: the operator's --node-image (the chart's nodeImage).",
      minLength: 1,
      maxLength: 1024,
    }),
    imagePullPolicy: oneOf(['Always', 'IfNotPresent', 'Never'], {
      description: 'Image pull policy of the node container. Default IfNotPresent.',
      default: 'IfNotPresent',
    }),
    imagePullSecrets: list(str({ description: 'Secret name.', minLength: 1, maxLength: 253 }), {
      description: 'Names of Secrets used to pull the image.',
      maxItems: 16,
      listType: 'set',
    }),
    logLevel: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace'], {
      description: 'Node log level. Default info.',
      default: 'info',
    }),
    resources: obj(
      {
        requests: map(quantity({ description: 'Quantity.' }), {
          description: 'Requests, e.g. {cpu: 500m, memory: 1Gi}.',
          maxProperties: 16,
        }),
        limits: map(quantity({ description: 'Quantity.' }), {
          description: 'Limits, e.g. {memory: 2Gi}; the caches’ memory budgets must fit in limits.memory.',
          maxProperties: 16,
        }),
      },
      { description: 'Compute resources of the node container.' },
    ),
    scheduling: obj(
      {
        nodeSelector: map(str({ description: 'Label value.' }), {
          description: 'Node labels the pods require.',
          maxProperties: 64,
        }),
        affinity: opaque({
          description: 'Pod affinity, as in a pod spec (checked by the API server on apply).',
        }),
        tolerations: list(tolerationSchema, { description: 'Tolerations of the pods.', maxItems: 32 }),
        topologySpreadConstraints: list(topologySpreadSchema, {
          description: 'Topology spread constraints of the pods.',
          maxItems: 8,
        }),
        zoneAware: bool({
          description:
            'Spread pods across zones (maxSkew 1 over zoneTopologyKey) and tell each node its zone (from that label on the pod, which Kubernetes copies from the node with pod topology labels, 1.33+), so replicas land in distinct zones. Default false.',
          default: false,
        }),
        zoneTopologyKey: str({
          description: 'Node (and pod) label naming the zone. Default topology.kubernetes.io/zone.',
          minLength: 1,
          maxLength: 316,
          default: 'topology.kubernetes.io/zone',
        }),
        priorityClassName: str({ description: 'Priority class of the pods.', maxLength: 253 }),
      },
      { description: 'Where the pods run.', default: {} },
    ),
    caches: list(cacheSchema, {
      description: 'Caches the cluster serves. Default: one cache named "default".',
      minItems: 1,
      maxItems: 64,
      listType: 'map',
      mapKeys: ['name'],
      default: [{ name: 'default' }],
    }),
    replication: replicationSchema,
    ports: obj(
      {
        grpc: port('gRPC data plane.', 7070),
        admin: port('Admin HTTP (/healthz, /readyz, /metrics).', 8080),
        gossip: port('Gossip (UDP and TCP).', 7946),
        redis: port('Redis protocol.', 6379),
        replica: port(
          'Node-to-node replication (gRPC Replica service: long-lived streams between the members, not for clients); on the headless Service only, and peers learn it through gossip.',
          7071,
        ),
      },
      {
        description:
          'Container and Service ports. The client Service exposes grpc and redis; the headless Service every port.',
        default: {},
        rules: [
          {
            rule: `[${ALL_PORTS}].all(p, [${ALL_PORTS}].exists_one(q, q == p))`,
            message:
              'ports.grpc, ports.admin, ports.gossip, ports.redis and ports.replica must be five different ports',
          },
        ],
      },
    ),
    mesh: obj(
      {
        enabled: bool({
          description:
            'Run in an Istio mesh: sidecar annotations, and (when the Istio CRDs exist) VirtualService, DestinationRule and PeerAuthentication. Default false.',
          default: false,
        }),
        mode: oneOf(['sidecar', 'ambient'], {
          description: 'Istio data-plane mode of the pods. Default sidecar.',
          default: 'sidecar',
        }),
        mtls: oneOf(['STRICT', 'PERMISSIVE'], {
          description:
            'PeerAuthentication mode for the data-plane ports (grpc, redis and the node-to-node replica port; gossip is outside the mesh, admin also takes plain text). Default STRICT.',
          default: 'STRICT',
        }),
        batchTimeout: str({
          description: 'Timeout of the unary ExecuteBatch route (the Execute stream has none). Default 5s.',
          pattern: DURATION_PATTERN,
          default: '5s',
        }),
        batchRetries: int({
          description: 'Retries of ExecuteBatch on unavailable/reset. Default 2.',
          minimum: 0,
          maximum: 10,
          default: 2,
        }),
      },
      { description: 'Service mesh (Istio) integration.', default: {} },
    ),
    monitoring: obj(
      {
        serviceMonitor: obj(
          {
            enabled: bool({
              description: 'Create a ServiceMonitor (when its CRD exists). Default false.',
              default: false,
            }),
            interval: str({
              description: 'Scrape interval. Default 30s.',
              pattern: DURATION_PATTERN,
              default: '30s',
            }),
            labels: map(LABEL_VALUE, {
              description: 'Extra labels, e.g. the release label Prometheus selects on.',
              maxProperties: 32,
            }),
          },
          { description: 'Prometheus Operator ServiceMonitor.', default: {} },
        ),
        prometheusRule: obj(
          {
            enabled: bool({
              description: 'Create a PrometheusRule with alerts (when its CRD exists). Default false.',
              default: false,
            }),
            labels: map(LABEL_VALUE, { description: 'Extra labels.', maxProperties: 32 }),
          },
          { description: 'Prometheus Operator PrometheusRule.', default: {} },
        ),
      },
      { description: 'Prometheus integration.', default: {} },
    ),
    networkPolicy: obj(
      {
        enabled: bool({
          description:
            "Create a NetworkPolicy for the pods: the replica and gossip ports admit only this cluster's pods, grpc, redis and admin admit anyone (in ambient mesh mode also Istio's HBONE port 15008, which carries every meshed connection, replica included); other ports are closed to ingress, egress is not restricted. Needs a network plugin that enforces NetworkPolicy. Default false.",
          default: false,
        }),
      },
      { description: 'NetworkPolicy of the pods.', default: {} },
    ),
    podDisruptionBudget: obj(
      {
        enabled: bool({
          description: 'Create a PodDisruptionBudget allowing at most one unavailable pod. Default true.',
          default: true,
        }),
      },
      { description: 'Disruption budget of the pods.', default: {} },
    ),
    updateStrategy: obj(
      {
        type: oneOf(['RollingUpdate', 'OnDelete'], {
          description: 'RollingUpdate (one pod at a time, default) or OnDelete.',
          default: 'RollingUpdate',
        }),
      },
      { description: 'How pods are replaced when the template changes.', default: {} },
    ),
    podMetadata: obj(
      {
        labels: map(LABEL_VALUE, { description: 'Extra pod labels.', maxProperties: 64 }),
        annotations: map(ANNOTATION_VALUE, { description: 'Extra pod annotations.', maxProperties: 64 }),
      },
      {
        description: 'Extra labels and annotations of the pods.',
        rules: [
          {
            rule: `!has(self.labels) || ${RESERVED_LABELS.map((l) => `!('${l}' in self.labels)`).join(' && ')}`,
            message: `podMetadata.labels must not set ${RESERVED_LABELS.join(', ')} (the operator owns them)`,
          },
        ],
      },
    ),
  },
  {
    description: 'Desired state of the cache cluster.',
    default: {},
    rules: [
      {
        rule: 'self.caches.all(c, c.replicationFactor <= self.replicas)',
        message: 'every cache replicationFactor must be at most spec.replicas',
        fieldPath: '.caches',
      },
      {
        rule: '!self.scheduling.zoneAware || !has(self.scheduling.topologySpreadConstraints) || self.scheduling.topologySpreadConstraints.all(t, t.topologyKey != self.scheduling.zoneTopologyKey)',
        message:
          'scheduling.zoneAware already spreads over zoneTopologyKey: remove that topologySpreadConstraint',
        fieldPath: '.scheduling.topologySpreadConstraints',
      },
    ],
  },
);

export const statusSchema = obj(
  {
    observedGeneration: int({ description: 'Generation the status describes.', format: 'int64' }),
    phase: oneOf(
      ['Pending', 'Creating', 'Running', 'Scaling', 'Updating', 'Degraded', 'Invalid', 'Terminating'],
      {
        description: 'Summary of the cluster state.',
      },
    ),
    replicas: int({ description: 'Pods that exist (the scale subresource reads this).' }),
    readyReplicas: int({ description: 'Pods ready (joined and bootstrapped).' }),
    updatedReplicas: int({ description: 'Pods at the current template revision.' }),
    selector: str({ description: 'Label selector of the pods, for the scale subresource (HPA).' }),
    image: str({ description: 'Image of the node container.' }),
    members: list(str({ description: 'Member id (pod name).' }), {
      description: 'Ready members of the cluster.',
      maxItems: 1000,
      listType: 'atomic',
    }),
    topologyEpoch: int({ description: 'Topology epoch reported by the nodes.', format: 'int64' }),
    conditions: list(conditionSchema, {
      description: 'Available, Progressing and Degraded.',
      maxItems: 8,
      listType: 'map',
      mapKeys: ['type'],
    }),
  },
  { description: 'Observed state of the cache cluster.' },
);

export type CacheSpec = TypeOf<typeof cacheSchema>;
export type CacheClusterSpec = TypeOf<typeof specSchema>;
export type CacheClusterStatus = TypeOf<typeof statusSchema>;
export type CacheClusterCondition = NonNullable<CacheClusterStatus['conditions']>[number];
export type ConditionType = CacheClusterCondition['type'];
export type Phase = NonNullable<CacheClusterStatus['phase']>;

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  deletionTimestamp?: string | Date;
  creationTimestamp?: string | Date;
}

/** A CacheCluster as the operator holds it (spec defaulted). */
export interface CacheCluster {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: ObjectMeta;
  spec: CacheClusterSpec;
  status?: CacheClusterStatus;
}
