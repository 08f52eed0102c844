import { MeshcacheClient } from './MeshcacheClient.js';
import type { ClientOptions } from './options/ClientOptions.js';
import { resolveClientOptions } from './options/resolveClientOptions.js';

/**
 * Creates a client for the node at `options.url` and starts connecting.
 * Options are merged with `DEFAULT_CLIENT_OPTIONS` and checked here, once:
 * an invalid field throws `MeshcacheError` with code `INVALID_CONFIG`.
 */
export function createClient(options: ClientOptions): MeshcacheClient {
  return new MeshcacheClient(resolveClientOptions(options));
}
