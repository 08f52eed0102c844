import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { NODE_V8_FLAGS, nodeArgs } from '../../../src/runtime/nodeBinary.js';

const repoFile = (path: string): string =>
  readFileSync(new URL(`../../../../${path}`, import.meta.url), 'utf8');

describe('how meshcache-node is started', () => {
  it('puts the V8 flags before the entry point and the node flags after it', () => {
    const env = { MESHCACHE_NODE_BIN: '/x/meshcache-node.js' };
    expect(nodeArgs(['--id', 'a'], undefined, env)).toEqual([
      ...NODE_V8_FLAGS,
      '/x/meshcache-node.js',
      '--id',
      'a',
    ]);
    expect(nodeArgs(['--id', 'a'], [], env)).toEqual(['/x/meshcache-node.js', '--id', 'a']);
  });

  it('the node image runs with the same V8 flags as every other launch', () => {
    const line = repoFile('Dockerfile')
      .split('\n')
      .find((l) => l.startsWith('ENTRYPOINT '));
    expect(line).toBeDefined();
    const argv = JSON.parse(line!.slice('ENTRYPOINT '.length)) as string[];
    expect(argv[0]).toBe('node');
    expect(argv.slice(1, -1)).toEqual([...NODE_V8_FLAGS]);
    expect(argv.at(-1)).toBe('/app/node/dist/bin/meshcache-node.js');
  });

  it('so do the npm script and the executable itself (its #! line)', () => {
    const flags = NODE_V8_FLAGS.join(' ');
    const scripts = (JSON.parse(repoFile('package.json')) as { scripts: Record<string, string> }).scripts;
    expect(scripts['meshcache-node']).toBe(`node ${flags} node/dist/bin/meshcache-node.js`);
    expect(repoFile('node/src/bin/meshcache-node.ts').split('\n')[0]).toBe(`#!/usr/bin/env -S node ${flags}`);
  });
});
