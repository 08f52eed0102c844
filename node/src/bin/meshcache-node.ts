#!/usr/bin/env -S node --max-semi-space-size=8
import { CommanderError } from 'commander';
import { ConfigError } from '../config/ConfigError.js';
import { loadNodeConfig } from '../config/loadNodeConfig.js';
import { createLogger } from '../logging/createLogger.js';
import { NodeServer } from '../NodeServer.js';

async function main(): Promise<number> {
  let options;
  try {
    options = loadNodeConfig({ argv: process.argv.slice(2), env: process.env });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof ConfigError) {
      process.stderr.write(`meshcache-node: ${err.code}: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const log = createLogger(options.logLevel, options.id);
  const server = new NodeServer(options, log);
  try {
    await server.start();
  } catch (err) {
    log.fatal({ err }, 'could not start');
    return 1;
  }
  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      server.shutdown(signal).then(
        () => resolve(0),
        (err: unknown) => {
          log.error({ err }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

main().then(
  (code) => {
    // Exit explicitly: a lingering handle must not keep a stopped node alive.
    process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`meshcache-node: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
