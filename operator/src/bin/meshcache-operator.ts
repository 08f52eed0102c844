#!/usr/bin/env node
import { CommanderError } from 'commander';
import { parseOperatorSettings } from '../k8s/operatorSettings.js';
import { jsonLogger, runOperator } from '../k8s/runOperator.js';

// meshcache-operator: the Kubernetes controller of CacheCluster resources.
// SIGTERM/SIGINT: stop watching, finish in-flight reconciles, release the
// leader Lease, exit 0. Losing the Lease exits 1 so a fresh process restarts.
let settings;
try {
  settings = parseOperatorSettings(process.argv.slice(2), process.env);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  process.stderr.write(`meshcache-operator: ${(err as Error).message}\n`);
  process.exit(2);
}
const log = jsonLogger(settings.logLevel);
const running = await runOperator(settings, {
  log,
  onLostLeadership: () => {
    log('lost leadership: exiting', {});
    void running.shutdown('lost leadership').finally(() => process.exit(1));
  },
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void running.shutdown(signal).then(() => process.exit(0));
  });
}
