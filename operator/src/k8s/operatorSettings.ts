import { hostname } from 'node:os';
import { Command, Option } from 'commander';

/** Settings of `meshcache-operator`: each is a flag and an environment variable (flags win). */
export interface OperatorSettings {
  nodeImage: string;
  clusterDomain: string;
  /** Empty: all namespaces. */
  watchNamespace: string;
  leaseNamespace: string;
  leaseName: string;
  identity: string;
  leaderElect: boolean;
  /** Port of /metrics, /healthz and /readyz (0: any free port). */
  port: number;
  workers: number;
  resyncSeconds: number;
  shutdownTimeoutSeconds: number;
  logLevel: 'error' | 'info' | 'debug';
}

function whole(name: string, min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v.trim()) || n < min) {
      throw new Error(`${name} must be a ${min > 0 ? 'positive' : 'non-negative'} whole number, got "${v}"`);
    }
    return n;
  };
}
const positive = (name: string) => whole(name, 1);

interface Setting {
  flags: string;
  help: string;
  env: string;
  default?: unknown;
  parse?: (v: string) => unknown;
}

const SETTINGS: Record<keyof OperatorSettings, Setting> = {
  nodeImage: {
    flags: '--node-image <image>',
    help: 'node image for CacheClusters that name none',
    env: 'MESHCACHE_NODE_IMAGE',
    default: '',
  },
  clusterDomain: {
    flags: '--cluster-domain <domain>',
    help: 'cluster DNS domain',
    env: 'MESHCACHE_CLUSTER_DOMAIN',
    default: 'cluster.local',
  },
  watchNamespace: {
    flags: '--watch-namespace <ns>',
    help: 'watch only this namespace (default: all)',
    env: 'MESHCACHE_WATCH_NAMESPACE',
    default: '',
  },
  leaseNamespace: {
    flags: '--lease-namespace <ns>',
    help: 'namespace of the leader-election Lease',
    env: 'POD_NAMESPACE',
    default: 'default',
  },
  leaseName: {
    flags: '--lease-name <name>',
    help: 'name of the leader-election Lease',
    env: 'MESHCACHE_LEASE_NAME',
    default: 'meshcache-operator',
  },
  identity: { flags: '--identity <id>', help: 'identity in the Lease and in Events', env: 'POD_NAME' },
  leaderElect: {
    flags: '--no-leader-elect',
    help: 'run without leader election (one replica only)',
    env: 'MESHCACHE_NO_LEADER_ELECT',
    parse: (v) => !(v === 'true' || v === '1'),
  },
  port: {
    flags: '--port <port>',
    help: 'port of /metrics, /healthz, /readyz (0: any free port)',
    env: 'MESHCACHE_OPERATOR_PORT',
    default: 8080,
    parse: whole('port', 0),
  },
  workers: {
    flags: '--workers <n>',
    help: 'concurrent reconciles',
    env: 'MESHCACHE_WORKERS',
    default: 2,
    parse: positive('workers'),
  },
  resyncSeconds: {
    flags: '--resync-seconds <s>',
    help: 'relist and reconcile everything this often',
    env: 'MESHCACHE_RESYNC_SECONDS',
    default: 300,
    parse: positive('resync-seconds'),
  },
  shutdownTimeoutSeconds: {
    flags: '--shutdown-timeout-seconds <s>',
    help: 'grace for in-flight reconciles on SIGTERM',
    env: 'MESHCACHE_SHUTDOWN_TIMEOUT_SECONDS',
    default: 20,
    parse: positive('shutdown-timeout-seconds'),
  },
  logLevel: {
    flags: '--log-level <level>',
    help: 'error, info or debug',
    env: 'MESHCACHE_LOG_LEVEL',
    default: 'info',
  },
};

export function buildOperatorCommand(): Command {
  const cmd = new Command('meshcache-operator')
    .description('Kubernetes operator of meshcache: reconciles CacheCluster resources.')
    .allowExcessArguments(false)
    .exitOverride();
  for (const s of Object.values(SETTINGS)) {
    const o = new Option(s.flags, `${s.help} [env ${s.env}]`);
    if (s.default !== undefined) o.default(s.default);
    if (s.parse && !s.flags.startsWith('--no-')) o.argParser(s.parse as (v: string) => number);
    cmd.addOption(o);
  }
  return cmd;
}

/** Flags win, then the environment, then defaults; throws naming the bad setting. */
export function parseOperatorSettings(argv: string[], env: NodeJS.ProcessEnv): OperatorSettings {
  const cmd = buildOperatorCommand();
  cmd.parse(argv, { from: 'user' });
  for (const [key, s] of Object.entries(SETTINGS)) {
    const v = env[s.env];
    if (v === undefined || v === '' || cmd.getOptionValueSource(key) === 'cli') continue;
    cmd.setOptionValueWithSource(key, s.parse ? s.parse(v) : v, 'env');
  }
  const o = cmd.opts<OperatorSettings>();
  if (!['error', 'info', 'debug'].includes(o.logLevel)) {
    throw new Error(`log level must be error, info or debug, got "${o.logLevel}"`);
  }
  return { ...o, identity: o.identity ?? env['HOSTNAME'] ?? hostname() };
}
