import type { Command } from 'commander';
import type { MeshcacheClient, SetConditionName } from '@meshcache/client';
import { EXIT_NOT_FOUND, EXIT_OK } from './exitCodes.js';

export interface CliContext {
  /** Connects with the global flags; the caller closes the client. */
  withClient<T>(fn: (client: MeshcacheClient) => Promise<T>): Promise<T>;
  out(text: string | Buffer): void;
  err(text: string): void;
}

function parseTtl(text: string): number {
  if (!/^(-1|\d+)$/.test(text))
    throw new Error(`--ttl must be a whole number of milliseconds or -1, got "${text}"`);
  return Number(text);
}

/** get, set and del: the value alone on stdout, so scripts can use it. */
export function registerDataCommands(
  program: Command,
  ctx: CliContext,
  setExit: (code: number) => void,
): void {
  program
    .command('get <key>')
    .description('print the value of KEY (exit 1 when it does not exist)')
    .action(async (key: string) => {
      const value = await ctx.withClient((c) => c.get<Buffer>(key));
      if (value === undefined) {
        ctx.err(`meshcache: key "${key}" not found\n`);
        setExit(EXIT_NOT_FOUND);
        return;
      }
      ctx.out(value);
      if (process.stdout.isTTY) ctx.out('\n');
      setExit(EXIT_OK);
    });

  program
    .command('set <key> <value>')
    .description('store VALUE under KEY')
    .option('--ttl <ms>', 'time to live in ms (-1 never expires; default: the cache default)', parseTtl)
    .option('--if-absent', 'write only if KEY does not exist (NX)')
    .option('--if-present', 'write only if KEY exists (XX)')
    .action(
      async (key: string, value: string, opts: { ttl?: number; ifAbsent?: boolean; ifPresent?: boolean }) => {
        if (opts.ifAbsent && opts.ifPresent)
          throw new Error('--if-absent and --if-present exclude each other');
        const condition: SetConditionName = opts.ifAbsent
          ? 'ifAbsent'
          : opts.ifPresent
            ? 'ifPresent'
            : 'always';
        const written = await ctx.withClient((c) =>
          c.set(key, Buffer.from(value), { ttlMs: opts.ttl ?? 0, condition }),
        );
        if (!written) {
          ctx.err(`meshcache: not written: key "${key}" ${opts.ifAbsent ? 'exists' : 'does not exist'}\n`);
          setExit(EXIT_NOT_FOUND);
          return;
        }
        ctx.out('OK\n');
        setExit(EXIT_OK);
      },
    );

  program
    .command('del <key>')
    .description('delete KEY; prints 1 if it existed, 0 if not')
    .action(async (key: string) => {
      const existed = await ctx.withClient((c) => c.delete(key));
      ctx.out(existed ? '1\n' : '0\n');
      setExit(EXIT_OK);
    });
}
