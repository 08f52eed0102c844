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
  // Signals are taken from the start: one that arrives while the node is
  // starting (ports bound, a cluster joined) stops it once it has started,
  // instead of killing it mid-way by the default action.
  let signalled: string | undefined;
  let onStopped: ((signal: string) => void) | undefined;
  const onSignal = (signal: string) => {
    if (onStopped) onStopped(signal);
    else signalled = signal;
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
  try {
    await server.start();
  } catch (err) {
    log.fatal({ err }, 'could not start');
    return 1;
  }
  return new Promise<number>((resolve) => {
    onStopped = (signal: string) => {
      server.shutdown(signal).then(
        () => resolve(0),
        (err: unknown) => {
          log.error({ err }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    if (signalled !== undefined) onStopped(signalled);
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
