import { evaluate } from '@marcbachmann/cel-js';

/**
 * The x-kubernetes-validations (CEL) rules of the Istio CRDs for the kinds
 * meshcache renders (networking.istio.io/v1 VirtualService and
 * DestinationRule, security.istio.io/v1 PeerAuthentication), which
 * @kubernetes-models/istio leaves out of its validate(): copied from Istio's
 * manifests/charts/base/files/crd-all.gen.yaml (Istio 1.29, the CRDs the
 * package is generated from), evaluated with @marcbachmann/cel-js.
 */
interface CelRule {
  rule: string;
  message: string;
}

const DURATION: CelRule = {
  rule: "duration(self) >= duration('1ms')",
  message: 'must be a valid duration greater than 1ms',
};

const LABEL_KEYS: CelRule[] = [
  { rule: 'self.all(key, !key.contains("*"))', message: 'wildcard not allowed in label key match' },
  { rule: 'self.all(key, key.size() != 0)', message: 'key must not be empty' },
];
const LABEL_VALUE: CelRule = {
  rule: '!self.contains("*")',
  message: 'wildcard not allowed in label value match',
};

/** Duration fields of a DestinationRule TrafficPolicy (and of its portLevelSettings). */
const TRAFFIC_POLICY_DURATIONS = [
  'connectionPool.http.idleTimeout',
  'connectionPool.tcp.connectTimeout',
  'connectionPool.tcp.maxConnectionDuration',
  'connectionPool.tcp.tcpKeepalive.interval',
  'connectionPool.tcp.tcpKeepalive.time',
  'loadBalancer.warmup.duration',
  'loadBalancer.warmupDurationSecs',
  'outlierDetection.baseEjectionTime',
  'outlierDetection.interval',
];

const TRAFFIC_POLICIES = [
  'spec.trafficPolicy',
  'spec.trafficPolicy.portLevelSettings[]',
  'spec.subsets[].trafficPolicy',
  'spec.subsets[].trafficPolicy.portLevelSettings[]',
];

/**
 * Rules by field path: `.` between fields, `[]` every item of a list, `{}`
 * every value of a map.
 */
type RuleTable = Array<[path: string, rules: CelRule[]]>;

export const ISTIO_CEL_RULES: Record<string, RuleTable> = {
  'networking.istio.io/v1/VirtualService': [
    'corsPolicy.maxAge',
    'fault.delay.exponentialDelay',
    'fault.delay.fixedDelay',
    'retries.backoff',
    'retries.perTryTimeout',
    'timeout',
  ].map((f): [string, CelRule[]] => [`spec.http[].${f}`, [DURATION]]),
  'networking.istio.io/v1/DestinationRule': [
    ...TRAFFIC_POLICIES.flatMap((tp) =>
      TRAFFIC_POLICY_DURATIONS.map((f): [string, CelRule[]] => [`${tp}.${f}`, [DURATION]]),
    ),
    ['spec.workloadSelector.matchLabels', LABEL_KEYS],
    ['spec.workloadSelector.matchLabels{}', [LABEL_VALUE]],
  ],
  'security.istio.io/v1/PeerAuthentication': [
    [
      'spec',
      [
        {
          rule:
            'has(self.portLevelMtls) ? (((has(self.selector) && has(self.selector.matchLabels)) ? ' +
            'self.selector.matchLabels : {}).size() > 0) : true',
          message: 'portLevelMtls requires selector',
        },
      ],
    ],
    [
      'spec.portLevelMtls',
      [{ rule: 'self.all(key, 0 < int(key) && int(key) <= 65535)', message: 'port must be between 1-65535' }],
    ],
    ['spec.selector.matchLabels', LABEL_KEYS],
    ['spec.selector.matchLabels{}', [LABEL_VALUE]],
  ],
};

/** JSON numbers as CEL values: integers as int, the rest as double. */
function toCel(value: unknown): unknown {
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map(toCel);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toCel(v)]));
  }
  return value;
}

/** The values at a rule path, with their concrete paths (`spec.http[1].timeout`). */
function select(value: unknown, steps: string[], path: string): Array<[string, unknown]> {
  if (value === undefined || value === null) return [];
  if (steps.length === 0) return [[path, value]];
  const [step, ...rest] = steps as [string, ...string[]];
  const each = step.endsWith('[]') ? '[]' : step.endsWith('{}') ? '{}' : '';
  const field = each ? step.slice(0, -2) : step;
  const inner = (value as Record<string, unknown>)[field];
  const at = path ? `${path}.${field}` : field;
  if (!each) return select(inner, rest, at);
  if (each === '[]') {
    return Array.isArray(inner) ? inner.flatMap((v, i) => select(v, rest, `${at}[${i}]`)) : [];
  }
  if (inner === null || typeof inner !== 'object') return [];
  return Object.entries(inner).flatMap(([k, v]) => select(v, rest, `${at}[${JSON.stringify(k)}]`));
}

/** Problems of the CEL rules for one Istio object (empty when all hold, or when the kind has none). */
export function istioCelProblems(obj: { apiVersion?: string; kind?: string }): string[] {
  const key = `${obj.apiVersion}/${obj.kind}`;
  const problems: string[] = [];
  for (const [path, rules] of ISTIO_CEL_RULES[key] ?? []) {
    for (const [at, value] of select(obj, path.split('.'), '')) {
      for (const r of rules) {
        let ok: unknown;
        try {
          ok = evaluate(r.rule, { self: toCel(value) });
        } catch (err) {
          problems.push(
            `${key}.${at}: rule "${r.rule}" failed to evaluate: ${(err as Error).message.split('\n')[0]}`,
          );
          continue;
        }
        if (ok !== true) problems.push(`${key}.${at}: ${r.message}`);
      }
    }
  }
  return problems;
}
