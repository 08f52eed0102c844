import { createClient, type MeshcacheClient, rawSerializer, type ConsistencyLevel } from '@meshcache/client';

export interface ConnectionFlags {
  seeds: string;
  cache: string;
  consistency?: ConsistencyLevel;
  timeoutMs: number;
}

/**
 * Connects to the first seed that answers. The CLI reads and writes raw bytes,
 * so what `set` stores is exactly what redis-cli or any client reads back.
 */
export async function connectClient(
  flags: ConnectionFlags,
  clientName = 'meshcache-cli',
): Promise<MeshcacheClient> {
  const seeds = flags.seeds
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (seeds.length === 0)
    throw new Error('--seeds names no node (expected host:grpcPort[,host:grpcPort...])');
  const failures: string[] = [];
  for (const url of seeds) {
    const client = createClient({
      url,
      clientName,
      serializer: rawSerializer,
      defaultCache: flags.cache,
      defaultConsistency: flags.consistency,
      timeoutMs: flags.timeoutMs,
      connectTimeoutMs: flags.timeoutMs,
    });
    try {
      await client.connect({ timeoutMs: flags.timeoutMs });
      return client;
    } catch (err) {
      failures.push(`${url}: ${(err as Error).message}`);
      await client.close();
    }
  }
  throw new Error(`no seed answered (${failures.join('; ')})`);
}
