import { spawnSync } from 'node:child_process';

function ip(...args: string[]): void {
  const res = spawnSync('ip', args, { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`ip ${args.join(' ')}: ${res.stderr || res.error?.message}`);
}

function ipQuiet(...args: string[]): void {
  spawnSync('ip', args, { encoding: 'utf8' });
}

/**
 * Real network partitions with Linux network namespaces (root only): each
 * node gets a namespace with two links, `eth0` on a shared bridge (the
 * cluster network its gossip uses) and `ctl0`, a point-to-point link to the
 * test process for the admin API. Isolating a node takes its bridge port
 * down: its gossip packets and connections go nowhere, while the test can
 * still ask it what it sees.
 */
export class ClusterNetwork {
  private readonly tag = Math.random().toString(36).slice(2, 6);
  private readonly octet = 100 + Math.floor(Math.random() * 100);
  private created = 0;

  /** True when namespaces can be made here (running as root, iproute2 present and permitted). */
  static available(): boolean {
    if (process.getuid?.() !== 0) return false;
    const probe = `mcprobe${process.pid % 10000}`;
    const res = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
    if (res.status !== 0) return false;
    ipQuiet('netns', 'del', probe);
    return true;
  }

  constructor(private readonly size: number) {}

  private ns(i: number): string {
    return `mc${this.tag}n${i}`;
  }

  private get bridge(): string {
    return `mc${this.tag}b`;
  }

  /** Where node i's gossip and data ports live (the cluster network). */
  clusterIp(i: number): string {
    return `10.${this.octet}.0.${10 + i}`;
  }

  /** Where the test reaches node i's admin port. */
  controlIp(i: number): string {
    return `10.${this.octet + 1}.${i}.2`;
  }

  /** The command prefix that runs a process inside node i's namespace. */
  prefix(i: number): string[] {
    return ['ip', 'netns', 'exec', this.ns(i)];
  }

  setUp(): void {
    ip('link', 'add', this.bridge, 'type', 'bridge');
    ip('link', 'set', this.bridge, 'up');
    for (let i = 0; i < this.size; i++) {
      const ns = this.ns(i);
      ip('netns', 'add', ns);
      this.created = i + 1;
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      ip('link', 'add', `mc${this.tag}g${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      ip('link', 'set', `mc${this.tag}g${i}`, 'master', this.bridge, 'up');
      ip('-n', ns, 'addr', 'add', `${this.clusterIp(i)}/24`, 'dev', 'eth0');
      ip('-n', ns, 'link', 'set', 'eth0', 'up');
      ip('link', 'add', `mc${this.tag}c${i}`, 'type', 'veth', 'peer', 'name', 'ctl0', 'netns', ns);
      ip('addr', 'add', `10.${this.octet + 1}.${i}.1/24`, 'dev', `mc${this.tag}c${i}`);
      ip('link', 'set', `mc${this.tag}c${i}`, 'up');
      ip('-n', ns, 'addr', 'add', `${this.controlIp(i)}/24`, 'dev', 'ctl0');
      ip('-n', ns, 'link', 'set', 'ctl0', 'up');
    }
  }

  /** Cuts node i off the cluster network (both directions). */
  isolate(i: number): void {
    ip('link', 'set', `mc${this.tag}g${i}`, 'down');
  }

  reconnect(i: number): void {
    ip('link', 'set', `mc${this.tag}g${i}`, 'up');
  }

  tearDown(): void {
    for (let i = 0; i < this.created; i++) {
      ipQuiet('netns', 'del', this.ns(i));
      ipQuiet('link', 'del', `mc${this.tag}g${i}`);
      ipQuiet('link', 'del', `mc${this.tag}c${i}`);
    }
    ipQuiet('link', 'del', this.bridge);
  }
}
