import type { CommandSpec } from '../RedisCommand.js';
import type { RedisConnection } from '../RedisConnection.js';
import { NOT_AN_INTEGER, RedisReplyError, SYNTAX_ERROR, WRONGPASS, wrongArity } from '../RedisReplyError.js';
import { REDIS_COMPAT_VERSION } from '../redisVersion.js';
import { is, parseInteger } from './args.js';

// Connection commands: PING, ECHO, HELLO, AUTH, SELECT, CLIENT ..., QUIT, RESET.

/** Names and lib-name/lib-ver values: printable ASCII without spaces, as redis-server requires. */
function validName(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const ch = name.charCodeAt(i);
    if (ch < 33 || ch > 126) return false;
  }
  return true;
}

function setName(c: RedisConnection, name: string): void {
  if (!validName(name)) {
    throw new RedisReplyError('ERR Client names cannot contain spaces, newlines or special characters.');
  }
  c.name = name;
}

/** Checks user and password against the `default` user; counts failures. */
function authenticate(c: RedisConnection, user: string, password: string): void {
  if (c.server.checkPassword(user, password)) {
    c.setAuthenticated(true);
    return;
  }
  c.server.counters.authFailures++;
  throw new RedisReplyError(WRONGPASS);
}

function hello(c: RedisConnection, argv: readonly string[], argc: number): void {
  let version = 0;
  let j = 1;
  if (argc >= 2) {
    const v = parseInteger(argv[1]!);
    if (v === undefined) throw new RedisReplyError('ERR Protocol version is not an integer or out of range');
    if (v < 2 || v > 3) throw new RedisReplyError('NOPROTO unsupported protocol version');
    version = v;
    j = 2;
  }
  let user: string | undefined;
  let password = '';
  let name: string | undefined;
  for (; j < argc; j++) {
    const more = argc - 1 - j;
    const opt = argv[j]!;
    if (is(opt, 'auth') && more >= 2) {
      user = argv[j + 1]!;
      password = argv[j + 2]!;
      j += 2;
    } else if (is(opt, 'setname') && more >= 1) {
      name = argv[++j]!;
    } else {
      throw new RedisReplyError(`ERR Syntax error in HELLO option '${opt}'`);
    }
  }
  if (user !== undefined) authenticate(c, user, password);
  if (!c.authenticated) {
    throw new RedisReplyError(
      'NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH ' +
        '<user> <pass> option can be used to authenticate the client and select the RESP protocol version ' +
        'at the same time',
    );
  }
  if (name !== undefined) setName(c, name);
  if (version !== 0) c.resp = version;
  const out = c.out;
  out.map(7);
  out.bulk('server');
  out.bulk('redis');
  out.bulk('version');
  out.bulk(REDIS_COMPAT_VERSION);
  out.bulk('proto');
  out.integer(c.resp);
  out.bulk('id');
  out.integer(c.id);
  out.bulk('mode');
  out.bulk('standalone');
  out.bulk('role');
  out.bulk('master');
  out.bulk('modules');
  out.array(0);
}

function auth(c: RedisConnection, argv: readonly string[], argc: number): void {
  if (argc > 3) throw new RedisReplyError(SYNTAX_ERROR);
  if (argc === 2 && c.server.options.password === '') {
    throw new RedisReplyError(
      'ERR AUTH <password> called without any password configured for the default user. ' +
        'Are you sure your configuration is correct?',
    );
  }
  if (argc === 2) authenticate(c, 'default', argv[1]!);
  else authenticate(c, argv[1]!, argv[2]!);
  c.out.ok();
}

function select(c: RedisConnection, argv: readonly string[]): void {
  const index = parseInteger(argv[1]!);
  if (index === undefined || index > 2147483647 || index < -2147483648) {
    throw new RedisReplyError(NOT_AN_INTEGER);
  }
  if (index < 0 || index >= c.server.caches.stores.length) {
    throw new RedisReplyError('ERR DB index is out of range');
  }
  c.db = index;
  c.out.ok();
}

/** One CLIENT LIST / CLIENT INFO line, in redis-server's field order (fields meshcache has no use for are 0). */
export function clientInfoLine(c: RedisConnection): string {
  const now = Date.now();
  const fd = (c.socket as unknown as { _handle?: { fd?: number } })._handle?.fd ?? -1;
  return (
    `id=${c.id} addr=${c.remoteAddress} laddr=${c.localAddress} fd=${fd} name=${c.name} ` +
    `age=${Math.floor((now - c.createdAt) / 1000)} idle=${Math.floor((now - c.lastInteraction) / 1000)} ` +
    `flags=N db=${c.db} sub=0 psub=0 ssub=0 multi=-1 qbuf=${c.parser.bufferedBytes} qbuf-free=0 ` +
    `argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=${c.out.pendingBytes} tot-mem=0 events=r ` +
    `cmd=${c.lastCommand} user=default redir=-1 resp=${c.resp} lib-name=${c.libName} lib-ver=${c.libVersion}\n`
  );
}

function clientList(c: RedisConnection, argv: readonly string[], argc: number): void {
  let ids: Set<number> | undefined;
  let onlyNormal = true;
  if (argc === 4 && is(argv[2]!, 'type')) {
    const type = argv[3]!.toLowerCase();
    if (!['normal', 'master', 'replica', 'slave', 'pubsub'].includes(type)) {
      throw new RedisReplyError(`ERR Unknown client type '${argv[3]!}'`);
    }
    onlyNormal = type === 'normal';
  } else if (argc >= 4 && is(argv[2]!, 'id')) {
    ids = new Set();
    for (let i = 3; i < argc; i++) {
      const id = parseInteger(argv[i]!);
      if (id === undefined || id <= 0) throw new RedisReplyError('ERR Invalid client ID');
      ids.add(id);
    }
  } else if (argc !== 2) {
    throw new RedisReplyError(SYNTAX_ERROR);
  }
  let text = '';
  if (onlyNormal) {
    for (const conn of c.server.connections) {
      if (ids === undefined || ids.has(conn.id)) text += clientInfoLine(conn);
    }
  }
  c.out.verbatim(text);
}

function clientSetInfo(c: RedisConnection, argv: readonly string[]): void {
  const attr = argv[2]!;
  const value = argv[3]!;
  const lower = attr.toLowerCase();
  if (lower !== 'lib-name' && lower !== 'lib-ver') {
    throw new RedisReplyError(`ERR Unrecognized option '${attr}'`);
  }
  if (!validName(value)) {
    throw new RedisReplyError(`ERR ${lower} cannot contain spaces, newlines or special characters.`);
  }
  if (lower === 'lib-name') c.libName = value;
  else c.libVersion = value;
  c.out.ok();
}

const CLIENT_HELP = [
  'CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'GETNAME',
  '    Return the name of the current connection.',
  'ID',
  '    Return the ID of the current connection.',
  'INFO',
  '    Return information about the current client connection.',
  'LIST [TYPE <normal|master|replica|pubsub>] [ID <id> [<id> ...]]',
  '    Return information about client connections.',
  'SETINFO <option> <value>',
  '    Set client meta attr. Options are: LIB-NAME, LIB-VER.',
  'SETNAME <name>',
  '    Assign the name <name> to the current connection.',
  'HELP',
  '    Print this help.',
];

const CONNECTION = ['connection'];
const CONNECTION_FAST = ['fast', 'connection'];
const CONNECTION_SLOW = ['slow', 'connection'];

function clientSub(
  name: string,
  arity: number,
  summary: string,
  handler: CommandSpec['handler'],
  categories: readonly string[] = CONNECTION_SLOW,
): CommandSpec {
  return {
    name: `client|${name}`,
    arity,
    flags: ['noscript', 'loading', 'stale'],
    firstKey: 0,
    lastKey: 0,
    step: 0,
    categories,
    summary,
    since: '2.4.0',
    group: 'connection',
    handler,
  };
}

export const connectionCommands: readonly CommandSpec[] = [
  {
    name: 'ping',
    arity: -1,
    flags: ['fast'],
    firstKey: 0,
    lastKey: 0,
    step: 0,
    categories: CONNECTION_FAST,
    summary: "Returns the server's liveliness response.",
    since: '1.0.0',
    group: 'connection',
    complexity: 'O(1)',
    handler: (c, argv, argc) => {
      if (argc > 2) throw new RedisReplyError(wrongArity('ping'));
      if (argc === 2) c.out.bulk(argv[1]!);
      else c.out.simple('PONG');
    },
  },
  {
    name: 'echo',
    arity: 2,
    flags: ['fast'],
    firstKey: 0,
    lastKey: 0,
    step: 0,
    categories: CONNECTION_FAST,
    summary: 'Returns the given string.',
    since: '1.0.0',
    group: 'connection',
    complexity: 'O(1)',
    handler: (c, argv) => c.out.bulk(argv[1]!),
  },
  {
    name: 'hello',
    arity: -1,
    flags: ['noscript', 'loading', 'stale', 'fast', 'no_auth', 'allow_busy'],
    firstKey: 0,
    lastKey: 0,
    step: 0,
    categories: CONNECTION_FAST,
    summary: 'Handshakes with the Redis server.',
    since: '6.0.0',
    group: 'connection',
    complexity: 'O(1)',
    handler: hello,
  },
  {
    name: 'auth',
    arity: -2,
    flags: ['noscript', 'loading', 'stale', 'fast', 'no_auth', 'allow_busy'],
    firstKey: 0,
    lastKey: 0,
    step: 0,
    categories: CONNECTION_FAST,
    summary: 'Authenticates the connection.',
    since: '1.0.0',
    group: 'connection',
    complexity: 'O(N) where N is the number of passwords defined for the user',
    handler: auth,
  },
  {
    name: 'select',
    arity: 2,
    flags: ['loading', 'stale', 'fast'],
    firstKey: 0,
    lastKey: 0,
    step: 0,
    categories: CONNECTION_FAST,
    summary: 'Changes the selected database (in meshcache: the selected cache).',
    since: '1.0.0',
    group: 'connection',
    complexity: 'O(1)',
    handler: select,
  },
  {
    name: 'quit',
    arity: -1,
    flags: ['allow_busy', 'noscript', 'loading', 'stale', 'fast', 'no_auth'],
    firstKey: 0,
    lastKey: 0,
    step: 0,
    categories: CONNECTION_FAST,
    summary: 'Closes the connection.',
    since: '1.0.0',
    group: 'connection',
    complexity: 'O(1)',
    handler: (c) => {
      c.out.ok();
      c.closeAfterReply();
    },
  },
  {
    name: 'reset',
    arity: 1,
    flags: ['noscript', 'loading', 'stale', 'fast', 'no_auth', 'allow_busy'],
    firstKey: 0,
    lastKey: 0,
    step: 0,
    categories: CONNECTION_FAST,
    summary: 'Resets the connection.',
    since: '6.2.0',
    group: 'connection',
    complexity: 'O(1)',
    handler: (c) => {
      c.db = 0;
      c.resp = 2;
      c.name = '';
      if (c.server.options.password !== '') c.setAuthenticated(false);
      c.out.simple('RESET');
    },
  },
  {
    name: 'client',
    arity: -2,
    flags: [],
    firstKey: 0,
    lastKey: 0,
    step: 0,
    categories: CONNECTION,
    summary: 'A container for client connection commands.',
    since: '2.4.0',
    group: 'connection',
    handler: () => {
      throw new RedisReplyError(wrongArity('client'));
    },
    subcommands: [
      clientSub('id', 2, 'Returns the unique client ID of the connection.', (c) => c.out.integer(c.id)),
      clientSub('getname', 2, 'Returns the name of the connection.', (c) =>
        c.out.bulk(c.name === '' ? null : c.name),
      ),
      clientSub('setname', 3, 'Sets the connection name.', (c, argv) => {
        setName(c, argv[2]!);
        c.out.ok();
      }),
      clientSub('info', 2, 'Returns information about the connection.', (c) =>
        c.out.verbatim(clientInfoLine(c)),
      ),
      clientSub('list', -2, 'Lists open connections.', clientList),
      clientSub('setinfo', 4, 'Sets information specific to the client or connection.', clientSetInfo),
      clientSub('help', 2, 'Returns helpful text about the different subcommands.', (c) => {
        c.out.array(CLIENT_HELP.length);
        for (const line of CLIENT_HELP) c.out.simple(line);
      }),
    ],
  },
];
