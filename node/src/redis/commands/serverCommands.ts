import { globMatch } from '../globMatch.js';
import type { CommandSpec } from '../RedisCommand.js';
import type { RedisCommand } from '../RedisCommand.js';
import type { RedisConnection } from '../RedisConnection.js';
import { RedisReplyError } from '../RedisReplyError.js';
import { maxmemoryPolicyOf, renderInfo } from '../redisInfo.js';
import type { RespWriter } from '../RespWriter.js';

// Server commands: COMMAND ..., INFO, DBSIZE, CONFIG GET.

/** One COMMAND INFO entry, in Redis 7's ten-field shape. */
function writeCommandInfo(out: RespWriter, cmd: RedisCommand): void {
  out.array(10);
  out.bulk(cmd.name);
  out.integer(cmd.arity);
  out.set(cmd.flags.length);
  for (const f of cmd.flags) out.simple(f);
  out.integer(cmd.firstKey);
  out.integer(cmd.lastKey);
  out.integer(cmd.step);
  out.set(cmd.categories.length);
  for (const cat of cmd.categories) out.simple(`@${cat}`);
  out.set(0); // tips
  if (cmd.firstKey === 0) {
    out.array(0);
  } else {
    // One key spec: the index of the first key, then a range to the last.
    const write = cmd.flags.includes('write');
    const keyFlags =
      cmd.name === 'del' || cmd.name === 'unlink'
        ? ['RM', 'delete']
        : write
          ? ['RW', 'update']
          : ['RO', 'access'];
    out.array(1);
    out.map(3);
    out.bulk('flags');
    out.set(keyFlags.length);
    for (const f of keyFlags) out.simple(f);
    out.bulk('begin_search');
    out.map(2);
    out.bulk('type');
    out.bulk('index');
    out.bulk('spec');
    out.map(1);
    out.bulk('index');
    out.integer(cmd.firstKey);
    out.bulk('find_keys');
    out.map(2);
    out.bulk('type');
    out.bulk('range');
    out.bulk('spec');
    out.map(3);
    out.bulk('lastkey');
    out.integer(cmd.lastKey < 0 ? cmd.lastKey : cmd.lastKey - cmd.firstKey);
    out.bulk('keystep');
    out.integer(cmd.step);
    out.bulk('limit');
    out.integer(0);
  }
  const subs = cmd.subcommands ? [...cmd.subcommands.values()] : [];
  out.array(subs.length);
  for (const sub of subs) writeCommandInfo(out, sub);
}

/** One COMMAND DOCS entry: a map of summary, since, group, complexity and subcommands. */
function writeCommandDocs(out: RespWriter, cmd: RedisCommand): void {
  const subs = cmd.subcommands ? [...cmd.subcommands.values()] : [];
  out.map(3 + (cmd.complexity !== undefined ? 1 : 0) + (subs.length > 0 ? 1 : 0));
  out.bulk('summary');
  out.bulk(cmd.summary);
  out.bulk('since');
  out.bulk(cmd.since);
  out.bulk('group');
  out.bulk(cmd.group);
  if (cmd.complexity !== undefined) {
    out.bulk('complexity');
    out.bulk(cmd.complexity);
  }
  if (subs.length > 0) {
    out.bulk('subcommands');
    out.map(subs.length);
    for (const sub of subs) {
      out.bulk(sub.name);
      writeCommandDocs(out, sub);
    }
  }
}

function commandInfo(c: RedisConnection, argv: readonly string[], argc: number): void {
  const table = c.server.table;
  if (argc <= 2) {
    c.out.array(table.size);
    for (const cmd of table.commands) writeCommandInfo(c.out, cmd);
    return;
  }
  c.out.array(argc - 2);
  for (let i = 2; i < argc; i++) {
    const cmd = lookupFullName(c, argv[i]!);
    if (cmd === undefined) c.out.nullArray();
    else writeCommandInfo(c.out, cmd);
  }
}

/** A command by name or `container|sub` full name. */
function lookupFullName(c: RedisConnection, name: string): RedisCommand | undefined {
  const bar = name.indexOf('|');
  if (bar < 0) return c.server.table.lookup(name);
  return c.server.table.lookup(name.slice(0, bar))?.subcommands?.get(name.slice(bar + 1).toLowerCase());
}

function commandDocs(c: RedisConnection, argv: readonly string[], argc: number): void {
  const table = c.server.table;
  const found: RedisCommand[] = [];
  if (argc <= 2) found.push(...table.commands);
  for (let i = 2; i < argc; i++) {
    const cmd = lookupFullName(c, argv[i]!);
    if (cmd !== undefined) found.push(cmd);
  }
  c.out.map(found.length);
  for (const cmd of found) {
    c.out.bulk(cmd.name);
    writeCommandDocs(c.out, cmd);
  }
}

function commandGetKeys(c: RedisConnection, argv: readonly string[], argc: number): void {
  let cmd = c.server.table.lookup(argv[2]!);
  const sub = argc > 3 ? cmd?.subcommands?.get(argv[3]!.toLowerCase()) : undefined;
  if (sub !== undefined) cmd = sub;
  if (cmd === undefined) throw new RedisReplyError('ERR Invalid command specified');
  if (cmd.firstKey === 0) throw new RedisReplyError('ERR The command has no key arguments');
  const n = argc - 2;
  if (!cmd.arityAllows(n)) throw new RedisReplyError('ERR Invalid number of arguments specified for command');
  const positions = cmd.keyPositions(n);
  c.out.array(positions.length);
  for (const p of positions) c.out.bulk(argv[p + 2]!);
}

const COMMAND_HELP = [
  'COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  '(no subcommand)',
  '    Return details about all Redis commands.',
  'COUNT',
  '    Return the total number of commands in this Redis server.',
  'LIST',
  '    Return a list of all commands in this Redis server.',
  'INFO [<command-name> ...]',
  '    Return details about multiple Redis commands.',
  'DOCS [<command-name> ...]',
  '    Return documentation details about multiple Redis commands.',
  'GETKEYS <full-command>',
  '    Return the keys from a full Redis command.',
  'HELP',
  '    Print this help.',
];

/** The settings CONFIG GET knows, with meshcache's values. */
function configParameters(c: RedisConnection): [string, string][] {
  const s = c.server;
  const caches = s.caches.options;
  const maxmemory = caches.reduce((sum, cache) => sum + cache.maxMemoryBytes, 0);
  return [
    ['maxmemory', String(maxmemory)],
    ['maxmemory-policy', maxmemoryPolicyOf(caches[0]!.evictionPolicy)],
    ['databases', String(caches.length)],
    ['save', ''],
    ['appendonly', 'no'],
    ['port', String(s.port)],
    ['timeout', '0'],
    ['tcp-keepalive', '300'],
    ['maxclients', String(s.options.maxClients)],
    ['proto-max-bulk-len', String(s.options.maxBulkBytes)],
    ['client-query-buffer-limit', String(s.options.maxQueryBufferBytes)],
    ['cluster-enabled', 'no'],
    ['replica-read-only', 'yes'],
    ['slave-read-only', 'yes'],
    ['notify-keyspace-events', ''],
    ['lazyfree-lazy-user-del', 'no'],
  ];
}

function configGet(c: RedisConnection, argv: readonly string[], argc: number): void {
  const params = configParameters(c);
  const matched = new Map<string, string>();
  for (let i = 2; i < argc; i++) {
    const pattern = argv[i]!;
    for (const [name, value] of params) {
      if (!matched.has(name) && globMatch(pattern, name, true)) matched.set(name, value);
    }
  }
  c.out.map(matched.size);
  for (const [name, value] of matched) {
    c.out.bulk(name);
    c.out.bulk(value);
  }
}

const CONFIG_HELP = [
  'CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'GET <pattern>',
  '    Return parameters matching the glob-like <pattern> and their values.',
  'HELP',
  '    Print this help.',
];

function helpSub(container: string, lines: readonly string[]): CommandSpec {
  return {
    name: `${container}|help`,
    arity: 2,
    flags: ['loading', 'stale'],
    firstKey: 0,
    lastKey: 0,
    step: 0,
    categories: ['slow'],
    summary: 'Returns helpful text about the different subcommands.',
    since: '5.0.0',
    group: 'server',
    handler: (c) => {
      c.out.array(lines.length);
      for (const line of lines) c.out.simple(line);
    },
  };
}

function commandSub(
  name: string,
  arity: number,
  summary: string,
  handler: CommandSpec['handler'],
): CommandSpec {
  return {
    name: `command|${name}`,
    arity,
    flags: ['loading', 'stale'],
    firstKey: 0,
    lastKey: 0,
    step: 0,
    categories: ['slow', 'connection'],
    summary,
    since: '2.8.13',
    group: 'server',
    handler,
  };
}

export const serverCommands: readonly CommandSpec[] = [
  {
    name: 'command',
    arity: -1,
    flags: ['loading', 'stale'],
    firstKey: 0,
    lastKey: 0,
    step: 0,
    categories: ['slow', 'connection'],
    summary: 'Returns detailed information about all commands.',
    since: '2.8.13',
    group: 'server',
    complexity: 'O(N) where N is the total number of Redis commands',
    handler: (c, argv) => commandInfo(c, argv, 1),
    subcommands: [
      commandSub('count', 2, 'Returns a count of commands.', (c) => c.out.integer(c.server.table.size)),
      commandSub('info', -2, 'Returns information about one, multiple or all commands.', commandInfo),
      commandSub(
        'docs',
        -2,
        'Returns documentary information about one, multiple or all commands.',
        commandDocs,
      ),
      commandSub('list', -2, 'Returns a list of command names.', (c) => {
        c.out.array(c.server.table.size);
        for (const cmd of c.server.table.commands) c.out.bulk(cmd.name);
      }),
      commandSub('getkeys', -4, 'Extracts the key names from an arbitrary command.', commandGetKeys),
      helpSub('command', COMMAND_HELP),
    ],
  },
  {
    name: 'info',
    arity: -1,
    flags: ['loading', 'stale'],
    firstKey: 0,
    lastKey: 0,
    step: 0,
    categories: ['slow', 'dangerous'],
    summary: 'Returns information and statistics about the server.',
    since: '1.0.0',
    group: 'server',
    complexity: 'O(1)',
    handler: (c, argv, argc) => {
      const sections: string[] = [];
      for (let i = 1; i < argc; i++) sections.push(argv[i]!.toLowerCase());
      c.out.verbatim(renderInfo(c.server, sections));
    },
  },
  {
    name: 'dbsize',
    arity: 1,
    flags: ['readonly', 'fast'],
    firstKey: 0,
    lastKey: 0,
    step: 0,
    categories: ['keyspace', 'read', 'fast'],
    summary: 'Returns the number of keys in the database.',
    since: '1.0.0',
    group: 'server',
    complexity: 'O(1)',
    handler: (c) => c.out.integer(c.server.executor.storeAt(c.db).size),
  },
  {
    name: 'config',
    arity: -2,
    flags: [],
    firstKey: 0,
    lastKey: 0,
    step: 0,
    categories: ['slow'],
    summary: 'A container for server configuration commands.',
    since: '2.0.0',
    group: 'server',
    handler: () => {
      throw new RedisReplyError("ERR wrong number of arguments for 'config' command");
    },
    subcommands: [
      {
        name: 'config|get',
        arity: -3,
        flags: ['admin', 'noscript', 'loading', 'stale'],
        firstKey: 0,
        lastKey: 0,
        step: 0,
        categories: ['admin', 'slow', 'dangerous'],
        summary: 'Returns the effective values of configuration parameters.',
        since: '2.0.0',
        group: 'server',
        complexity: 'O(N) when N is the number of configuration parameters provided',
        handler: configGet,
      },
      helpSub('config', CONFIG_HELP),
    ],
  },
];
