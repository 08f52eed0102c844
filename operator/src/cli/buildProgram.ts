import { Command, Option } from 'commander';
import type { MeshcacheClient } from '@meshcache/client';
import { registerBenchCommand } from './benchCommand.js';
import { connectClient } from './connectClient.js';
import { type CliContext, registerDataCommands } from './dataCommands.js';

export interface ProgramIo {
  env: NodeJS.ProcessEnv;
  out(text: string | Buffer): void;
  err(text: string): void;
  setExit(code: number): void;
}

const DEFAULT_SEEDS = '127.0.0.1:7070';
const DEFAULT_TIMEOUT_MS = 5_000;

/** The `meshcache` command tree. Global flags also read MESHCACHE_SEEDS and MESHCACHE_CACHE. */
export function buildProgram(io: ProgramIo): Command {
  const program = new Command('meshcache')
    .description('Command line of meshcache, a distributed in-memory cache for Kubernetes.')
    .addOption(
      new Option('--seeds <list>', 'host:grpcPort of nodes, comma-separated')
        .env('MESHCACHE_SEEDS')
        .default(DEFAULT_SEEDS),
    )
    .addOption(new Option('--cache <name>', 'cache to use').env('MESHCACHE_CACHE').default('default'))
    .addOption(
      new Option('--consistency <level>', 'ONE, QUORUM or ALL (default: the cache default)').choices([
        'ONE',
        'QUORUM',
        'ALL',
      ]),
    )
    .addOption(
      new Option('--timeout-ms <ms>', 'deadline of each request')
        .argParser((t: string) => {
          if (!/^\d+$/.test(t) || Number(t) <= 0)
            throw new Error(`--timeout-ms must be a positive whole number, got "${t}"`);
          return Number(t);
        })
        .default(DEFAULT_TIMEOUT_MS),
    )
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .showHelpAfterError();

  const ctx: CliContext = {
    out: io.out,
    err: io.err,
    async withClient<T>(fn: (client: MeshcacheClient) => Promise<T>): Promise<T> {
      const g = program.opts<{
        seeds: string;
        cache: string;
        consistency?: 'ONE' | 'QUORUM' | 'ALL';
        timeoutMs: number;
      }>();
      const client = await connectClient(g);
      try {
        return await fn(client);
      } finally {
        await client.close();
      }
    },
  };
  registerDataCommands(program, ctx, io.setExit);
  registerBenchCommand(program, ctx, io.setExit);
  return program;
}
