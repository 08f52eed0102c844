import dgram from 'node:dgram';
import net from 'node:net';
import { decodePacket, decodeStream, encodePacket, encodeStream, MalformedMessageError } from './codec.js';
import type { GossipMessage, StreamMessage } from './messages.js';
import type { Transport } from './runtime.js';

export interface GossipTransportOptions {
  bindHost: string;
  /** 0 = a free port (UDP and TCP share the number). */
  port: number;
  maxPacketBytes: number;
  maxStreamBytes: number;
  /** Gives up on a stream connection that has not finished in this long. */
  streamTimeoutMs?: number;
}

/** Test-only faults (enabled by the node's `testFaults` setting). */
export interface GossipFaults {
  /** Fraction of outgoing UDP packets dropped. */
  dropRate: number;
  /** Peers (host:port gossip addresses, or hosts) this node neither sends to nor accepts from. */
  blocked: string[];
}

export interface GossipTransportEvents {
  packet(messages: GossipMessage[]): void;
  stream(message: StreamMessage): void;
  malformed(reason: string, from: string): void;
}

const MAX_OPEN_STREAMS = 256;
/** Port-0 binds tried before giving up; each fails only if a UDP socket holds the twin of a free TCP port. */
const MAX_BIND_ATTEMPTS = 16;

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function splitAddress(addr: string): { host: string; port: number } | undefined {
  const i = addr.lastIndexOf(':');
  if (i <= 0) return undefined;
  const port = Number(addr.slice(i + 1));
  if (!Number.isInteger(port) || port <= 0 || port > 65535) return undefined;
  let host = addr.slice(0, i);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host, port };
}

/**
 * Membership over the network: gossip packets over UDP and stream messages
 * over TCP (one connection per message, length-prefixed), both on the gossip
 * port. Every incoming packet and message is validated; malformed input is
 * reported and dropped, never thrown.
 */
export class GossipTransport implements Transport<GossipMessage, StreamMessage> {
  private udp: dgram.Socket | undefined;
  private tcp: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private closed = false;
  port = 0;
  readonly faults: GossipFaults = { dropRate: 0, blocked: [] };
  /** Packets dropped on the way out because they exceeded the size limit (a bug if it ever counts). */
  oversize = 0;

  constructor(
    private readonly options: GossipTransportOptions,
    private readonly events: GossipTransportEvents,
    /** Only for the test fault hook's drop rate. */
    private readonly random: () => number = () => 0.5,
  ) {}

  /**
   * Binds the gossip port: a TCP listener and a UDP socket on the same number.
   *
   * With port 0 the TCP listener is bound first, on a port the kernel picks,
   * and UDP then takes the same number. Not the other way round: the kernel
   * picks a free UDP port at random without looking at TCP, while every
   * outgoing TCP connection in this network namespace (this node's, its
   * peers', any process's) holds a port of the same ephemeral range as its
   * local port, established or in TIME_WAIT after it closed. A listener on
   * that port conflicts with it even with SO_REUSEADDR (connect() does not set
   * it), so a UDP-first pick fails as often as the range is busy with
   * connections, on every retry alike. A TCP listen on port 0 gets a port no
   * TCP socket holds whenever the range has one, and its UDP twin is rarely
   * taken (few UDP sockets exist); on that collision the next attempt gets
   * another TCP port (the refused ones stay bound until the end, so the kernel
   * cannot hand one back).
   */
  async bind(): Promise<number> {
    const { bindHost, port: wanted } = this.options;
    if (wanted !== 0) {
      const tcp = await this.listenTcp(wanted);
      try {
        this.adopt(tcp, await this.bindUdp(wanted), wanted);
      } catch (err) {
        await closeServer(tcp);
        throw err;
      }
      return wanted;
    }
    const taken: net.Server[] = [];
    try {
      for (let attempt = 0; attempt < MAX_BIND_ATTEMPTS; attempt++) {
        const tcp = await this.listenTcp(0);
        const port = (tcp.address() as net.AddressInfo).port;
        let udp: dgram.Socket;
        try {
          udp = await this.bindUdp(port);
        } catch (err) {
          taken.push(tcp);
          if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') continue;
          throw err;
        }
        this.adopt(tcp, udp, port);
        return port;
      }
      const ports = taken.map((s) => (s.address() as net.AddressInfo).port);
      throw new Error(
        `no free gossip port on ${bindHost}: the UDP twin of each of ${MAX_BIND_ATTEMPTS} TCP ports the ` +
          `kernel picked was in use (last ${ports.at(-1)}; tried ${ports.join(', ')})`,
      );
    } finally {
      // The listening sockets close at once; nothing waits for a stray connection to them.
      for (const s of taken) s.close();
    }
  }

  private listenTcp(port: number): Promise<net.Server> {
    const tcp = net.createServer((socket) => this.accept(socket));
    return new Promise((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(port, this.options.bindHost, () => {
        tcp.off('error', reject);
        resolve(tcp);
      });
    });
  }

  private bindUdp(port: number): Promise<dgram.Socket> {
    const udp = dgram.createSocket({
      type: net.isIPv6(this.options.bindHost) ? 'udp6' : 'udp4',
      reuseAddr: false,
    });
    return new Promise((resolve, reject) => {
      const failed = (err: Error) => {
        udp.close();
        reject(err);
      };
      udp.once('error', failed);
      udp.bind(port, this.options.bindHost, () => {
        udp.off('error', failed);
        resolve(udp);
      });
    });
  }

  private adopt(tcp: net.Server, udp: dgram.Socket, port: number): void {
    udp.on('message', (buf, rinfo) => this.onPacket(buf, `${rinfo.address}:${rinfo.port}`));
    udp.on('error', () => undefined);
    tcp.on('error', () => undefined);
    this.udp = udp;
    this.tcp = tcp;
    this.port = port;
  }

  private isBlocked(addr: string): boolean {
    const b = this.faults.blocked;
    if (b.length === 0) return false;
    const host = splitAddress(addr)?.host;
    return b.includes(addr) || (host !== undefined && b.includes(host));
  }

  private onPacket(buf: Buffer, from: string): void {
    if (this.closed || this.isBlocked(from)) return;
    let msgs: GossipMessage[];
    try {
      msgs = decodePacket(buf, this.options.maxPacketBytes);
    } catch (err) {
      this.events.malformed((err as Error).message, from);
      return;
    }
    this.events.packet(msgs);
  }

  private accept(socket: net.Socket): void {
    if (this.closed || this.sockets.size >= MAX_OPEN_STREAMS) {
      socket.destroy();
      return;
    }
    const from = `${socket.remoteAddress}:${socket.remotePort}`;
    if (socket.remoteAddress && this.isBlocked(socket.remoteAddress)) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.setTimeout(this.options.streamTimeoutMs ?? 10_000, () => socket.destroy());
    const chunks: Buffer[] = [];
    let size = 0;
    let expected = -1;
    socket.on('data', (chunk: Buffer) => {
      size += chunk.length;
      chunks.push(chunk);
      if (expected < 0 && size >= 4) {
        expected = Buffer.concat(chunks).readUInt32BE(0);
        if (expected > this.options.maxStreamBytes) {
          this.events.malformed(`stream message of ${expected} bytes is over the limit`, from);
          socket.destroy();
          return;
        }
      }
      if (expected >= 0 && size > expected + 4) {
        this.events.malformed('stream carries more than its length prefix', from);
        socket.destroy();
      }
    });
    socket.on('end', () => {
      socket.end();
      const buf = Buffer.concat(chunks);
      if (buf.length < 4 || buf.length !== buf.readUInt32BE(0) + 4) {
        this.events.malformed('stream length prefix does not match its body', from);
        return;
      }
      let msg: StreamMessage;
      try {
        msg = decodeStream(buf.subarray(4), this.options.maxStreamBytes);
      } catch (err) {
        if (!(err instanceof MalformedMessageError)) throw err;
        this.events.malformed(err.message, from);
        return;
      }
      this.events.stream(msg);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => this.sockets.delete(socket));
  }

  sendPacket(to: string, messages: readonly GossipMessage[]): void {
    const udp = this.udp;
    const dest = splitAddress(to);
    if (!udp || this.closed || !dest || this.isBlocked(to)) return;
    if (this.faults.dropRate > 0 && this.random() < this.faults.dropRate) return;
    const buf = encodePacket(messages);
    if (buf.length > this.options.maxPacketBytes) {
      this.oversize++;
      return;
    }
    udp.send(buf, dest.port, dest.host, () => undefined);
  }

  sendStream(to: string, message: StreamMessage): void {
    const dest = splitAddress(to);
    if (!this.udp || this.closed || !dest || this.isBlocked(to)) return;
    const body = encodeStream(message);
    const head = Buffer.alloc(4);
    head.writeUInt32BE(body.length, 0);
    const socket = net.connect({ host: dest.host, port: dest.port });
    this.sockets.add(socket);
    socket.setTimeout(this.options.streamTimeoutMs ?? 10_000, () => socket.destroy());
    socket.on('error', () => undefined);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('connect', () => {
      socket.write(head);
      socket.end(body);
    });
    socket.resume();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await Promise.all([
      new Promise<void>((resolve) => (this.udp ? this.udp.close(() => resolve()) : resolve())),
      new Promise<void>((resolve) => (this.tcp ? this.tcp.close(() => resolve()) : resolve())),
    ]);
  }
}
