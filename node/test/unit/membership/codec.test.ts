import { describe, expect, it } from '@jest/globals';
import {
  decodePacket,
  decodeStream,
  encodePacket,
  encodeStream,
  gossipSize,
  MalformedMessageError,
} from '../../../src/membership/codec.js';
import type { GossipMessage, StreamMessage, View } from '../../../src/membership/messages.js';

const view: View = {
  cluster: 'a@1',
  epoch: 3,
  members: [
    { id: 'a', inst: 1, addr: '10.0.0.1:7946', zone: 'z1', meta: { grpc: '10.0.0.1:7070' } },
    { id: 'b', inst: 2, addr: '10.0.0.2:7946', zone: '', meta: {} },
  ],
  decider: 'a',
  removed: [{ id: 'c', reason: 'dead' }],
  payload: { ranges: [[0, 16383, 'a']] },
};

const gossip: GossipMessage[] = [
  { t: 'ping', seq: 1, id: 'b', from: 'a', src: '10.0.0.1:7946' },
  { t: 'ping', seq: 2, id: '', from: 'a', src: '10.0.0.1:7946' },
  { t: 'pingreq', seq: 3, id: 'c', addr: '10.0.0.3:7946', from: 'a', src: '10.0.0.1:7946' },
  { t: 'ack', seq: 3, from: 'c' },
  { t: 'nack', seq: 3, from: 'b' },
  { t: 'alive', id: 'a', inst: 5, inc: 7, addr: 'host-a.mesh:7946', zone: 'z', meta: { admin: 'x:1' } },
  { t: 'suspect', id: 'b', inc: 2, from: 'a' },
  { t: 'dead', id: 'b', inc: 2, from: 'a' },
  { t: 'left', id: 'b', inc: 2 },
  { t: 'epoch', epoch: 4, addr: '10.0.0.1:7946' },
];

const streams: StreamMessage[] = [
  {
    t: 'pp',
    from: 'a',
    src: '10.0.0.1:7946',
    reply: true,
    join: false,
    members: [{ id: 'a', inst: 1, addr: '10.0.0.1:7946', zone: '', meta: {}, inc: 1, state: 'suspect' }],
    view,
  },
  { t: 'pp', from: 'a', src: '10.0.0.1:7946', reply: false, join: true, members: [], view: null },
  { t: 'prepare', epoch: 4, ballot: { n: 2, id: 'a' }, prev: view, src: '10.0.0.1:7946' },
  { t: 'promise', epoch: 4, ballot: { n: 2, id: 'a' }, from: 'b', inst: 2, accepted: null },
  {
    t: 'promise',
    epoch: 4,
    ballot: { n: 2, id: 'a' },
    from: 'b',
    inst: 2,
    accepted: { ballot: { n: 1, id: 'b' }, view: { ...view, epoch: 4 } },
  },
  { t: 'accept', epoch: 4, ballot: { n: 2, id: 'a' }, view: { ...view, epoch: 4 }, src: '10.0.0.1:7946' },
  { t: 'accepted', epoch: 4, ballot: { n: 2, id: 'a' }, from: 'b', inst: 2 },
  { t: 'reject', epoch: 4, ballot: { n: 2, id: 'a' }, promised: { n: 3, id: 'c' }, view: null },
  { t: 'commit', view },
  { t: 'viewreq', src: '10.0.0.1:7946' },
  {
    t: 'join',
    node: { t: 'alive', id: 'd', inst: 9, inc: 9, addr: '10.0.0.4:7946', zone: '', meta: {} },
    hops: 1,
  },
  { t: 'remove', id: 'b', reason: 'admin', hops: 0 },
];

function rejectsPacket(raw: string, max = 1400): string {
  try {
    decodePacket(Buffer.from(raw), max);
  } catch (err) {
    expect(err).toBeInstanceOf(MalformedMessageError);
    return (err as Error).message;
  }
  throw new Error(`accepted ${raw}`);
}

function rejectsStream(value: unknown): string {
  try {
    decodeStream(Buffer.from(JSON.stringify(value)), 1 << 20);
  } catch (err) {
    expect(err).toBeInstanceOf(MalformedMessageError);
    return (err as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(value)}`);
}

describe('membership wire codec', () => {
  it('round-trips every gossip message in one compound packet', () => {
    const buf = encodePacket(gossip);
    expect(decodePacket(buf, 4096)).toEqual(gossip);
    expect(gossipSize(gossip[0]!)).toBe(Buffer.byteLength(JSON.stringify(gossip[0])));
  });

  it.each(streams.map((s) => [s.t, s] as const))('round-trips a %s stream message', (_t, msg) => {
    expect(decodeStream(encodeStream(msg), 1 << 20)).toEqual(msg);
  });

  it('drops unknown fields when it rebuilds messages', () => {
    const [m] = decodePacket(Buffer.from('[{"t":"ack","seq":1,"from":"a","evil":true}]'), 100);
    expect(m).toEqual({ t: 'ack', seq: 1, from: 'a' });
  });

  it.each([
    ['not json', '{', /not JSON/],
    ['not an array', '{"t":"ack"}', /array/],
    ['empty', '[]', /1 to 64/],
    ['unknown type', '[{"t":"boom"}]', /unknown gossip message type/],
    ['negative seq', '[{"t":"ack","seq":-1,"from":"a"}]', /seq/],
    ['fractional inc', '[{"t":"left","id":"a","inc":1.5}]', /inc/],
    ['empty id', '[{"t":"left","id":"","inc":1}]', /id must not be empty/],
    ['bad address', '[{"t":"epoch","epoch":1,"addr":"nowhere"}]', /host:port/],
    ['string seq', '[{"t":"ack","seq":"1","from":"a"}]', /seq/],
    [
      'proto key in meta',
      '[{"t":"alive","id":"a","inst":1,"inc":1,"addr":"a:1","zone":"","meta":{"__proto__":"x"}}]',
      /meta key/,
    ],
  ])('rejects a packet that is %s', (_what, raw, message) => {
    expect(rejectsPacket(raw)).toMatch(message);
  });

  it('rejects packets over the size limit and ids over the length limit', () => {
    expect(rejectsPacket(JSON.stringify([{ t: 'ack', seq: 1, from: 'x'.repeat(2000) }]), 4000)).toMatch(
      /longer than 253/,
    );
    expect(rejectsPacket(JSON.stringify(gossip), 100)).toMatch(/larger than 100 bytes/);
    const many = Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']);
    expect(
      rejectsPacket(
        JSON.stringify([
          { t: 'alive', id: 'a', inst: 1, inc: 1, addr: 'a:1', zone: '', meta: Object.fromEntries(many) },
        ]),
        4000,
      ),
    ).toMatch(/more than 16/);
  });

  it.each([
    ['a view without members', { t: 'commit', view: { ...view, members: [] } }, /at least one member/],
    [
      'a view with a duplicate member',
      { t: 'commit', view: { ...view, members: [view.members[0], view.members[0]] } },
      /unique/,
    ],
    ['epoch 0', { t: 'commit', view: { ...view, epoch: 0 } }, /epoch must be at least 1/],
    [
      'a bad removal reason',
      { t: 'commit', view: { ...view, removed: [{ id: 'c', reason: 'bored' }] } },
      /reason/,
    ],
    ['too many hops', { t: 'remove', id: 'b', reason: 'admin', hops: 99 }, /hops/],
    ['a join of something else', { t: 'join', node: { t: 'dead', id: 'x' }, hops: 0 }, /alive/],
    [
      'a bad liveness',
      {
        ...streams[0],
        members: [{ ...(streams[0] as unknown as { members: object[] }).members[0], state: 'meh' }],
      },
      /state/,
    ],
    ['an unknown type', { t: 'gossip' }, /unknown stream message type/],
  ])('rejects a stream message with %s', (_what, value, message) => {
    expect(rejectsStream(value)).toMatch(message);
  });
});
