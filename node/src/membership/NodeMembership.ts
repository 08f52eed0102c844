import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import { DnsSeeds } from './DnsSeeds.js';
import { GossipTransport } from './GossipTransport.js';
import { Membership } from './Membership.js';
import type { MembershipTimings } from './MembershipOptions.js';
import type { NodeMeta, View } from './messages.js';
import { NodeScheduler } from './NodeScheduler.js';
import { SeededRandom } from './SeededRandom.js';
import type { PayloadHook } from './ViewProtocol.js';

/** The membership timings among a node's settings. */
export function timingsOf(o: {
  probeIntervalMs: number;
  probeTimeoutMs: number;
  indirectProbes: number;
  suspicionTimeoutMs: number;
  suspicionMaxTimeoutMultiplier: number;
  gossipIntervalMs: number;
  gossipFanout: number;
  retransmitMultiplier: number;
  pushPullIntervalMs: number;
  removeAfterMs: number;
  bootstrapSearchMs: number;
  seedRefreshIntervalMs: number;
}): Partial<MembershipTimings> {
  return {
    probeIntervalMs: o.probeIntervalMs,
    probeTimeoutMs: o.probeTimeoutMs,
    indirectProbes: o.indirectProbes,
    suspicionTimeoutMs: o.suspicionTimeoutMs,
    suspicionMaxTimeoutMultiplier: o.suspicionMaxTimeoutMultiplier,
    gossipIntervalMs: o.gossipIntervalMs,
    gossipFanout: o.gossipFanout,
    retransmitMultiplier: o.retransmitMultiplier,
    pushPullIntervalMs: o.pushPullIntervalMs,
    removeAfterMs: o.removeAfterMs,
    bootstrapSearchMs: o.bootstrapSearchMs,
    seedRefreshIntervalMs: o.seedRefreshIntervalMs,
  };
}

/** The default gossip port, used for seeds given without one. */
export const DEFAULT_GOSSIP_PORT = 7946;

export interface NodeMembershipOptions {
  id: string;
  zone: string;
  /** Advertised host (gossip address is host:gossipPort). */
  host: string;
  bindHost: string;
  gossipPort: number;
  seeds: string[];
  timings: Partial<MembershipTimings>;
  payload?: PayloadHook;
  payloadDue?: (prev: View) => boolean;
}

/**
 * Runs the membership core in a node: real UDP/TCP, real timers, a random
 * source seeded from the OS, seeds from a static list or DNS, and logs of the
 * changes worth an operator's attention.
 */
export class NodeMembership {
  private membership: Membership | undefined;
  readonly transport: GossipTransport;
  private readonly random: SeededRandom;

  constructor(
    private readonly options: NodeMembershipOptions,
    private readonly log: Logger,
  ) {
    this.random = new SeededRandom(randomInt(2 ** 32 - 1));
    const t = options.timings;
    this.transport = new GossipTransport(
      {
        bindHost: options.bindHost,
        port: options.gossipPort,
        maxPacketBytes: t.maxPacketBytes ?? 1400,
        maxStreamBytes: t.maxStreamBytes ?? 32 * 1024 * 1024,
      },
      {
        packet: (msgs) => this.guard(() => this.membership?.handlePacket(msgs)),
        stream: (msg) => this.guard(() => this.membership?.handleStream(msg)),
        malformed: (reason, from) => {
          this.membership?.malformed();
          this.log.debug({ from, reason }, 'malformed membership message dropped');
        },
      },
      () => this.random.next(),
    );
  }

  /** The running membership (undefined before start). */
  get current(): Membership | undefined {
    return this.membership;
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err }, 'membership failed to handle a message');
    }
  }

  /** Binds the gossip port and starts; `meta` holds the node's other advertised addresses. */
  async start(meta: NodeMeta): Promise<number> {
    const o = this.options;
    const port = await this.transport.bind();
    // The process instance, and its first incarnation: wall-clock ms, so a restart always outbids.
    const inst = Date.now();
    const self = { id: o.id, inst, addr: `${o.host}:${port}`, zone: o.zone, meta };
    const log = this.log;
    const membership = new Membership(
      { self, timings: o.timings },
      {
        scheduler: new NodeScheduler((err) => log.error({ err }, 'membership timer failed')),
        random: this.random,
        transport: this.transport,
        seeds: new DnsSeeds(o.seeds, DEFAULT_GOSSIP_PORT, undefined, (seed, err) =>
          log.warn({ seed, err: (err as Error).message }, 'seed did not resolve'),
        ),
        payload: o.payload,
        payloadDue: o.payloadDue,
        observer: {
          committed: (view, prev) =>
            log.info(
              {
                epoch: view.epoch,
                members: view.members.map((m) => m.id),
                removed: view.removed,
                from: prev?.epoch,
              },
              'view committed',
            ),
          conflict: (_node, mine, theirs) =>
            log.error(
              { epoch: mine.epoch, mine: mine.members, theirs: theirs.members },
              'two views with one epoch',
            ),
        },
      },
    );
    this.membership = membership;
    membership.onView((view) => {
      log.info(
        {
          epoch: view.epoch,
          cluster: view.cluster,
          members: view.members.map((m) => m.id),
          decider: view.decider,
          member: membership.isMember,
        },
        'view adopted',
      );
    });
    membership.onLiveness((r, prev) => {
      const quiet = r.state === 'suspect' || (r.state === 'alive' && prev === 'suspect');
      const fields = {
        member: r.id,
        state: r.state,
        prev: prev ?? 'unknown',
        incarnation: r.inc,
        address: r.addr,
      };
      if (quiet) log.debug(fields, 'member state');
      else log.info(fields, 'member state');
    });
    membership.start();
    return port;
  }

  /** Resolves once this node is a member of a committed view, or after `timeoutMs` (false). */
  async waitForMember(timeoutMs: number): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (!this.membership?.isMember) {
      if (Date.now() >= end) return false;
      await new Promise((r) => setTimeout(r, 10));
    }
    return true;
  }

  /**
   * Graceful leave: announces LEFT and asks the decider to remove this node,
   * then waits for a view without it (or `timeoutMs`) so peers hear it.
   */
  async leave(timeoutMs: number): Promise<void> {
    const m = this.membership;
    if (!m) return;
    const others = m.detector.liveCount > 1;
    const wasMember = m.isMember && (m.view?.members.length ?? 0) > 1;
    m.leave();
    const end = Date.now() + timeoutMs;
    while (wasMember && m.isMember && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    if (!others) return;
    // Let the LEFT notice ride a few gossip rounds.
    const linger = Math.min(Math.max(0, end - Date.now()), 3 * m.timings.gossipIntervalMs);
    await new Promise((r) => setTimeout(r, linger));
  }

  async stop(): Promise<void> {
    this.membership?.stop();
    await this.transport.close();
  }
}
