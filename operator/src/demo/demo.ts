#!/usr/bin/env node
// `npm start`: starts one meshcache node on loopback, walks through the client
// API against it, prints each step, and stops the node.
import { createClient } from '@meshcache/client';
import { LocalNodeProcess } from '../runtime/LocalNodeProcess.js';

const say = (step: string, outcome: unknown) =>
  process.stdout.write(
    `  ${step.padEnd(52)} -> ${typeof outcome === 'string' ? outcome : JSON.stringify(outcome)}\n`,
  );

async function main(): Promise<number> {
  process.stdout.write('meshcache demo\n');
  const node = await LocalNodeProcess.start({ id: 'demo-1' });
  say('started node demo-1', `gRPC ${node.grpcAddress}, admin ${node.adminUrl}`);
  const client = createClient({ url: node.grpcAddress, clientName: 'meshcache-demo' });
  try {
    say('set greeting "hello, meshcache"', await client.set('greeting', 'hello, meshcache'));
    say('get greeting', await client.get('greeting'));
    say(
      'set session:42 {user: "ada"} with a 300 ms TTL',
      await client.set('session:42', { user: 'ada' }, { ttlMs: 300 }),
    );
    say('get session:42', await client.get('session:42'));
    for (let i = 0; i < 3; i++) await client.incr('visits');
    say('incr visits three times', await client.get('visits'));
    say(
      'set greeting only if absent (NX)',
      await client.set('greeting', 'ignored', { condition: 'ifAbsent' }),
    );
    const entry = await client.getEntry('greeting');
    say(
      'compare-and-set greeting at its current version',
      await client.compareAndSet('greeting', entry!.version, 'hello again'),
    );
    say(
      'compare-and-set again with the now stale version',
      await client.compareAndSet('greeting', entry!.version, 'lost'),
    );
    say(
      'setMany a, b, c',
      await client.setMany([
        { key: 'a', value: 1 },
        { key: 'b', value: 2 },
        { key: 'c', value: 3 },
      ]),
    );
    say('getMany a, b, missing, c', await client.getMany(['a', 'b', 'missing', 'c']));
    const started = Date.now();
    while ((await client.get('session:42')) !== undefined) {
      if (Date.now() - started > 10_000) throw new Error('session:42 did not expire');
      await new Promise((r) => setTimeout(r, 25));
    }
    say('wait for session:42 to expire', `gone after ${Date.now() - started} ms`);
    say('delete greeting', await client.delete('greeting'));
    const info = (await (await fetch(`${node.adminUrl}/v1/info`)).json()) as {
      caches: { name: string; keys: number; stats: unknown }[];
    };
    say('node info: cache "default"', info.caches[0]);
  } finally {
    await client.close();
  }
  const code = await node.stop();
  say('stopped node with SIGTERM', `exit code ${code}`);
  process.stdout.write(
    '\nRun a node yourself:  node node/dist/bin/meshcache-node.js --id n1\n' +
      'and talk to it:       node operator/dist/cli/meshcache.js set hello world; node operator/dist/cli/meshcache.js get hello\n',
  );
  return code === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`demo failed: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
