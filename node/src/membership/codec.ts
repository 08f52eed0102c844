import type {
  AliveMessage,
  Ballot,
  GossipMessage,
  Liveness,
  MemberEntry,
  NodeInfo,
  NodeMeta,
  RemovalReason,
  StreamMessage,
  View,
} from './messages.js';

/**
 * Wire format: JSON. A UDP packet is a JSON array of gossip messages (a
 * compound message), at most `maxPacketBytes`; a stream frame is one JSON
 * message. Every incoming message is validated field by field and rebuilt
 * with only known fields; anything else is a {@link MalformedMessageError}.
 */

export const LIMITS = {
  idChars: 253,
  addrChars: 300,
  zoneChars: 128,
  metaEntries: 16,
  metaKeyChars: 32,
  metaValueChars: 300,
  packetMessages: 64,
  viewMembers: 10_000,
  stateMembers: 20_000,
  maxHops: 8,
} as const;

export class MalformedMessageError extends Error {
  override readonly name = 'MalformedMessageError';
}

const sizes = new WeakMap<object, number>();

/** Encoded size of one gossip message, in bytes (memoized: messages are immutable). */
export function gossipSize(message: GossipMessage): number {
  let size = sizes.get(message);
  if (size === undefined) {
    size = Buffer.byteLength(JSON.stringify(message));
    sizes.set(message, size);
  }
  return size;
}

/** Encoded size of a packet holding messages of these sizes. */
export function packetSize(messageSizes: number, count: number): number {
  return 2 + messageSizes + Math.max(0, count - 1);
}

export function encodePacket(messages: readonly GossipMessage[]): Buffer {
  return Buffer.from(JSON.stringify(messages));
}

export function encodeStream(message: StreamMessage): Buffer {
  return Buffer.from(JSON.stringify(message));
}

function fail(what: string): never {
  throw new MalformedMessageError(what);
}

type Obj = Record<string, unknown>;

function obj(v: unknown, what: string): Obj {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(`${what} must be an object`);
  return v as Obj;
}

function str(o: Obj, key: string, max: number, allowEmpty = false): string {
  const v = o[key];
  if (typeof v !== 'string') fail(`${key} must be a string`);
  if (v.length > max) fail(`${key} is longer than ${max}`);
  if (!allowEmpty && v.length === 0) fail(`${key} must not be empty`);
  return v;
}

function uint(o: Obj, key: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    fail(`${key} must be a non-negative integer`);
  return v;
}

function bool(o: Obj, key: string): boolean {
  const v = o[key];
  if (typeof v !== 'boolean') fail(`${key} must be a boolean`);
  return v;
}

function arr(o: Obj, key: string, max: number): unknown[] {
  const v = o[key];
  if (!Array.isArray(v)) fail(`${key} must be an array`);
  if (v.length > max) fail(`${key} has more than ${max} entries`);
  return v;
}

const ADDR = /^[^\s]+:\d{1,5}$/;

function addr(o: Obj, key: string): string {
  const v = str(o, key, LIMITS.addrChars);
  if (!ADDR.test(v)) fail(`${key} must be host:port`);
  return v;
}

function meta(v: unknown): NodeMeta {
  const o = obj(v, 'meta');
  const keys = Object.keys(o);
  if (keys.length > LIMITS.metaEntries) fail(`meta has more than ${LIMITS.metaEntries} entries`);
  const out: Record<string, string> = {};
  for (const k of keys) {
    if (k.length === 0 || k.length > LIMITS.metaKeyChars || k === '__proto__') fail('meta key is invalid');
    out[k] = str(o, k, LIMITS.metaValueChars, true);
  }
  return out;
}

const LIVENESS: readonly Liveness[] = ['alive', 'suspect', 'dead', 'left'];
const REASONS: readonly RemovalReason[] = ['dead', 'left', 'admin'];

function oneOf<T extends string>(o: Obj, key: string, values: readonly T[]): T {
  const v = o[key];
  if (typeof v !== 'string' || !values.includes(v as T)) fail(`${key} must be one of ${values.join(', ')}`);
  return v as T;
}

function nodeInfo(o: Obj): NodeInfo {
  return {
    id: str(o, 'id', LIMITS.idChars),
    inst: uint(o, 'inst'),
    addr: addr(o, 'addr'),
    zone: str(o, 'zone', LIMITS.zoneChars, true),
    meta: meta(o['meta']),
  };
}

function alive(o: Obj): AliveMessage {
  return { t: 'alive', ...nodeInfo(o), inc: uint(o, 'inc') };
}

function ballot(v: unknown): Ballot {
  const o = obj(v, 'ballot');
  return { n: uint(o, 'n'), id: str(o, 'id', LIMITS.idChars) };
}

function view(v: unknown): View {
  const o = obj(v, 'view');
  const epoch = uint(o, 'epoch');
  if (epoch < 1) fail('epoch must be at least 1');
  const members = arr(o, 'members', LIMITS.viewMembers).map((m) => nodeInfo(obj(m, 'member')));
  if (members.length === 0) fail('a view has at least one member');
  if (new Set(members.map((m) => m.id)).size !== members.length) fail('view member ids must be unique');
  const removed = arr(o, 'removed', LIMITS.viewMembers).map((r) => {
    const ro = obj(r, 'removed');
    return { id: str(ro, 'id', LIMITS.idChars), reason: oneOf(ro, 'reason', REASONS) };
  });
  return {
    cluster: str(o, 'cluster', LIMITS.idChars + 24),
    epoch,
    members,
    decider: str(o, 'decider', LIMITS.idChars),
    removed,
    payload: o['payload'] === undefined ? null : o['payload'],
  };
}

function nullable<T>(v: unknown, parse: (v: unknown) => T): T | null {
  return v === null ? null : parse(v);
}

function gossip(v: unknown): GossipMessage {
  const o = obj(v, 'message');
  switch (o['t']) {
    case 'ping':
      return {
        t: 'ping',
        seq: uint(o, 'seq'),
        id: str(o, 'id', LIMITS.idChars, true),
        from: str(o, 'from', LIMITS.idChars),
        src: addr(o, 'src'),
      };
    case 'pingreq':
      return {
        t: 'pingreq',
        seq: uint(o, 'seq'),
        id: str(o, 'id', LIMITS.idChars),
        addr: addr(o, 'addr'),
        from: str(o, 'from', LIMITS.idChars),
        src: addr(o, 'src'),
      };
    case 'ack':
    case 'nack':
      return { t: o['t'], seq: uint(o, 'seq'), from: str(o, 'from', LIMITS.idChars) };
    case 'alive':
      return alive(o);
    case 'suspect':
    case 'dead':
      return {
        t: o['t'],
        id: str(o, 'id', LIMITS.idChars),
        inc: uint(o, 'inc'),
        from: str(o, 'from', LIMITS.idChars),
      };
    case 'left':
      return { t: 'left', id: str(o, 'id', LIMITS.idChars), inc: uint(o, 'inc') };
    case 'epoch':
      return { t: 'epoch', epoch: uint(o, 'epoch'), addr: addr(o, 'addr') };
    default:
      fail(`unknown gossip message type ${JSON.stringify(o['t'])?.slice(0, 40)}`);
  }
}

function parseJson(buf: Buffer, maxBytes: number): unknown {
  if (buf.length > maxBytes) fail(`larger than ${maxBytes} bytes`);
  try {
    return JSON.parse(buf.toString('utf8')) as unknown;
  } catch {
    fail('not JSON');
  }
}

/** Decodes and validates one UDP packet. */
export function decodePacket(buf: Buffer, maxBytes: number): GossipMessage[] {
  const v = parseJson(buf, maxBytes);
  if (!Array.isArray(v)) fail('a packet must be an array of messages');
  if (v.length === 0 || v.length > LIMITS.packetMessages) fail('a packet carries 1 to 64 messages');
  return v.map(gossip);
}

function memberEntry(v: unknown): MemberEntry {
  const o = obj(v, 'member');
  return { ...nodeInfo(o), inc: uint(o, 'inc'), state: oneOf(o, 'state', LIVENESS) };
}

/** Decodes and validates one stream message. */
export function decodeStream(buf: Buffer, maxBytes: number): StreamMessage {
  const o = obj(parseJson(buf, maxBytes), 'message');
  switch (o['t']) {
    case 'pp':
      return {
        t: 'pp',
        from: str(o, 'from', LIMITS.idChars),
        src: addr(o, 'src'),
        reply: bool(o, 'reply'),
        join: bool(o, 'join'),
        members: arr(o, 'members', LIMITS.stateMembers).map(memberEntry),
        view: nullable(o['view'], view),
      };
    case 'prepare':
      return {
        t: 'prepare',
        epoch: uint(o, 'epoch'),
        ballot: ballot(o['ballot']),
        prev: view(o['prev']),
        src: addr(o, 'src'),
      };
    case 'promise':
      return {
        t: 'promise',
        epoch: uint(o, 'epoch'),
        ballot: ballot(o['ballot']),
        from: str(o, 'from', LIMITS.idChars),
        inst: uint(o, 'inst'),
        accepted: nullable(o['accepted'], (a) => {
          const ao = obj(a, 'accepted');
          return { ballot: ballot(ao['ballot']), view: view(ao['view']) };
        }),
      };
    case 'accept':
      return {
        t: 'accept',
        epoch: uint(o, 'epoch'),
        ballot: ballot(o['ballot']),
        view: view(o['view']),
        src: addr(o, 'src'),
      };
    case 'accepted':
      return {
        t: 'accepted',
        epoch: uint(o, 'epoch'),
        ballot: ballot(o['ballot']),
        from: str(o, 'from', LIMITS.idChars),
        inst: uint(o, 'inst'),
      };
    case 'reject':
      return {
        t: 'reject',
        epoch: uint(o, 'epoch'),
        ballot: ballot(o['ballot']),
        promised: nullable(o['promised'], ballot),
        view: nullable(o['view'], view),
      };
    case 'commit':
      return { t: 'commit', view: view(o['view']) };
    case 'viewreq':
      return { t: 'viewreq', src: addr(o, 'src') };
    case 'join': {
      const hops = uint(o, 'hops');
      if (hops > LIMITS.maxHops) fail('too many hops');
      const node = obj(o['node'], 'node');
      if (node['t'] !== 'alive') fail('node must be an alive message');
      return { t: 'join', node: alive(node), hops };
    }
    case 'remove': {
      const hops = uint(o, 'hops');
      if (hops > LIMITS.maxHops) fail('too many hops');
      return { t: 'remove', id: str(o, 'id', LIMITS.idChars), reason: oneOf(o, 'reason', REASONS), hops };
    }
    default:
      fail(`unknown stream message type ${JSON.stringify(o['t'])?.slice(0, 40)}`);
  }
}
