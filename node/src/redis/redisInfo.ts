import { randomBytes } from 'node:crypto';
import { arch, release, type } from 'node:os';
import type { RedisServer } from './RedisServer.js';
import { REDIS_COMPAT_VERSION } from './redisVersion.js';

const RUN_ID = randomBytes(20).toString('hex');

/** Sections INFO prints without arguments (and for `default`), in redis-server's order. */
const DEFAULT_SECTIONS = ['server', 'clients', 'memory', 'persistence', 'stats', 'replication', 'keyspace'];
const ALL_SECTIONS = [...DEFAULT_SECTIONS, 'commandstats'];

export function humanBytes(n: number): string {
  const units = ['B', 'K', 'M', 'G', 'T'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n}B` : `${v.toFixed(2)}${units[u]}`;
}

/** The maxmemory-policy name for a meshcache eviction policy. */
export function maxmemoryPolicyOf(policy: string): string {
  return `allkeys-${policy}`;
}

function section(server: RedisServer, name: string): string | undefined {
  const stores = server.caches.stores;
  const c = server.counters;
  const lines: [string, string | number][] = [];
  switch (name) {
    case 'server': {
      const uptime = Math.floor((Date.now() - server.startedAt) / 1000);
      lines.push(
        ['redis_version', REDIS_COMPAT_VERSION],
        ['meshcache_version', server.options.serverVersion],
        ['meshcache_node_id', server.options.nodeId],
        ['redis_mode', 'standalone'],
        ['os', `${type()} ${release()} ${arch()}`],
        ['arch_bits', process.arch.includes('64') ? 64 : 32],
        ['multiplexing_api', 'epoll'],
        ['process_id', process.pid],
        ['run_id', RUN_ID],
        ['tcp_port', server.port],
        ['server_time_usec', Date.now() * 1000],
        ['uptime_in_seconds', uptime],
        ['uptime_in_days', Math.floor(uptime / 86400)],
        ['executable', process.argv[1] ?? ''],
      );
      break;
    }
    case 'clients':
      lines.push(
        ['connected_clients', server.connections.size],
        ['maxclients', server.options.maxClients],
        ['blocked_clients', 0],
      );
      break;
    case 'memory': {
      let usedBytes = 0;
      let maxBytes = 0;
      for (let i = 0; i < stores.length; i++) {
        usedBytes += stores[i]!.usedBytes;
        maxBytes += server.caches.options[i]!.maxMemoryBytes;
      }
      const rss = process.memoryUsage.rss();
      lines.push(
        ['used_memory', usedBytes],
        ['used_memory_human', humanBytes(usedBytes)],
        ['used_memory_rss', rss],
        ['used_memory_rss_human', humanBytes(rss)],
        ['maxmemory', maxBytes],
        ['maxmemory_human', humanBytes(maxBytes)],
        ['maxmemory_policy', maxmemoryPolicyOf(server.caches.options[0]!.evictionPolicy)],
      );
      break;
    }
    case 'persistence':
      lines.push(['loading', 0], ['rdb_bgsave_in_progress', 0], ['aof_enabled', 0]);
      break;
    case 'stats': {
      let hits = 0;
      let misses = 0;
      let expired = 0;
      let evicted = 0;
      for (const s of stores) {
        hits += s.stats.hits;
        misses += s.stats.misses;
        expired += s.stats.expirations;
        evicted += s.stats.evictions;
      }
      lines.push(
        ['total_connections_received', c.connectionsReceived],
        ['total_commands_processed', c.commandsProcessed],
        ['total_net_input_bytes', c.netInputBytes],
        ['total_net_output_bytes', c.netOutputBytes],
        ['rejected_connections', c.rejectedConnections],
        ['expired_keys', expired],
        ['evicted_keys', evicted],
        ['keyspace_hits', hits],
        ['keyspace_misses', misses],
        ['unknown_commands', c.unknownCommands],
        ['protocol_errors', c.protocolErrors],
        ['auth_failures', c.authFailures],
      );
      break;
    }
    case 'replication':
      lines.push(['role', 'master'], ['connected_slaves', 0]);
      break;
    case 'keyspace':
      for (let i = 0; i < stores.length; i++) {
        const s = stores[i]!;
        if (s.size > 0) lines.push([`db${i}`, `keys=${s.size},expires=${s.ttlCount},avg_ttl=0`]);
      }
      break;
    case 'commandstats':
      for (const cmd of server.table.commands) {
        const all = cmd.subcommands ? [cmd, ...cmd.subcommands.values()] : [cmd];
        for (const x of all) {
          if (x.calls + x.rejectedCalls === 0) continue;
          lines.push([
            `cmdstat_${x.name}`,
            `calls=${x.calls},usec=0,usec_per_call=0.00,rejected_calls=${x.rejectedCalls},failed_calls=${x.failedCalls}`,
          ]);
        }
      }
      break;
    default:
      return undefined;
  }
  const title = name === 'commandstats' ? 'Commandstats' : name[0]!.toUpperCase() + name.slice(1);
  let text = `# ${title}\r\n`;
  for (const [k, v] of lines) text += `${k}:${v}\r\n`;
  return text;
}

/** INFO's text for the requested sections (lowercase; none = default). */
export function renderInfo(server: RedisServer, requested: readonly string[]): string {
  let names: string[] = [];
  if (requested.length === 0) names = DEFAULT_SECTIONS;
  for (const r of requested) {
    if (r === 'all' || r === 'everything') names.push(...ALL_SECTIONS);
    else if (r === 'default') names.push(...DEFAULT_SECTIONS);
    else names.push(r);
  }
  const seen = new Set<string>();
  const parts: string[] = [];
  for (const n of names) {
    if (seen.has(n)) continue;
    seen.add(n);
    const text = section(server, n);
    if (text !== undefined) parts.push(text);
  }
  return parts.join('\r\n');
}
