import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { SeedResolver } from './runtime.js';

export type LookupAll = (host: string) => Promise<string[]>;

const systemLookup: LookupAll = async (host) => (await lookup(host, { all: true })).map((a) => a.address);

/**
 * Seeds as configured: `host:port` or a bare DNS name (the headless Service,
 * whose name resolves to every pod) with the default gossip port. Names are
 * resolved on every call (the membership calls again every
 * `seedRefreshIntervalMs`); IP literals pass through; a name that fails to
 * resolve contributes nothing this time.
 */
export class DnsSeeds implements SeedResolver {
  constructor(
    private readonly seeds: readonly string[],
    private readonly defaultPort: number,
    private readonly lookupAll: LookupAll = systemLookup,
    private readonly onError: (seed: string, err: unknown) => void = () => undefined,
  ) {}

  get configured(): number {
    return this.seeds.length;
  }

  static parse(seed: string, defaultPort: number): { host: string; port: number } {
    const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(seed);
    if (bracketed) return { host: bracketed[1]!, port: bracketed[2] ? Number(bracketed[2]) : defaultPort };
    if (isIP(seed) === 6) return { host: seed, port: defaultPort };
    const i = seed.lastIndexOf(':');
    if (i > 0 && /^\d+$/.test(seed.slice(i + 1)))
      return { host: seed.slice(0, i), port: Number(seed.slice(i + 1)) };
    return { host: seed, port: defaultPort };
  }

  resolve(done: (addresses: string[]) => void): void {
    if (this.seeds.length === 0) {
      done([]);
      return;
    }
    const format = (host: string, port: number) =>
      isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
    Promise.all(
      this.seeds.map(async (seed) => {
        const { host, port } = DnsSeeds.parse(seed, this.defaultPort);
        if (isIP(host)) return [format(host, port)];
        try {
          return (await this.lookupAll(host)).map((ip) => format(ip, port));
        } catch (err) {
          this.onError(seed, err);
          return [];
        }
      }),
    ).then((lists) => done([...new Set(lists.flat())]));
  }
}
