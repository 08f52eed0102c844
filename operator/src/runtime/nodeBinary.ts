import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Path of the compiled `meshcache-node` entry point: MESHCACHE_NODE_BIN when
 * set, else the node workspace next to this one. Run with process.execPath
 * directly (no wrapper), so signals reach the node itself.
 */
export function nodeBinaryPath(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env['MESHCACHE_NODE_BIN'];
  if (explicit) return explicit;
  const path = fileURLToPath(new URL('../../../node/dist/bin/meshcache-node.js', import.meta.url));
  if (!existsSync(path)) {
    throw new Error(
      `meshcache-node not found at ${path}: run "npm run build" first, or set MESHCACHE_NODE_BIN`,
    );
  }
  return path;
}
