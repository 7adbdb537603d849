/**
 * Network faults between chain nodes on loopback, with iptables (test and bench support, not a
 * test). Every rule lives in one chain this process owns, CONSORTIA-<TAG>-<pid>, jumped to from
 * INPUT only: on loopback every packet passes INPUT once, and a packet dropped there is lost
 * silently, as on a cut cable (a DROP in OUTPUT would instead fail the sender's send with EPERM).
 * A rule matches one P2P link exactly: the two nodes' own 127.0.0.x addresses AND the listening
 * node's P2P port, in both directions, for both possible dialers; nothing else on loopback (other
 * tests' nodes on the same addresses, the API ports the test talks to) is touched.
 * setup() first removes chains left by a process that died (its pid is gone); teardown() removes
 * the jump and the chain. Nothing here touches any other chain or address.
 */
import { execFileSync, spawnSync } from 'node:child_process';

export interface P2PEndpoint {
  host: string;
  p2pPort: number;
}

const IPT = 'iptables';
const run = (args: string[]): { ok: boolean; out: string } => {
  const r = spawnSync(IPT, ['-w', '10', ...args], { encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
};
const must = (args: string[]): void => {
  execFileSync(IPT, ['-w', '10', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
};

/** Why faults cannot be made here (the test is skipped with it), or null when they can. */
export function netFaultUnsupportedReason(): string | null {
  if (process.platform !== 'linux') return 'network faults need Linux iptables';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'network faults need root (iptables)';
  const v = spawnSync(IPT, ['--version'], { encoding: 'utf8' });
  if (v.error || v.status !== 0) return `iptables not available: ${v.error?.message ?? v.stderr}`;
  const l = run(['-S', 'INPUT']);
  if (!l.ok) return `iptables not usable: ${l.out.trim()}`;
  return null;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

export class LinkCutter {
  readonly chain: string;
  private readonly prefix: string;
  private cuts = new Set<string>();

  /** `tag`: A-Z, at most 8 letters (iptables chain names have at most 28 characters). */
  constructor(tag = 'PART') {
    if (!/^[A-Z]{1,8}$/.test(tag)) throw new Error(`bad tag ${tag}`);
    this.prefix = `CONSORTIA-${tag}-`;
    this.chain = `${this.prefix}${process.pid}`;
  }

  /** Removes what a dead run of the same kind left, then creates this process's chain. */
  setup(): void {
    for (const line of run(['-S']).out.split('\n')) {
      const m = /^-N (\S+)$/.exec(line.trim());
      if (!m || !m[1]!.startsWith(this.prefix)) continue;
      const pid = Number(m[1]!.slice(this.prefix.length));
      if (m[1] === this.chain || !Number.isInteger(pid) || !alive(pid)) this.remove(m[1]!);
    }
    must(['-N', this.chain]);
    must(['-I', 'INPUT', '1', '-j', this.chain]);
  }

  private remove(chain: string): void {
    for (const base of ['INPUT', 'OUTPUT'])
      while (run(['-D', base, '-j', chain]).ok) {
        /* every jump */
      }
    run(['-F', chain]);
    run(['-X', chain]);
  }

  /** Drops every packet of the P2P link between a and b (both directions, either dialer). */
  cut(a: P2PEndpoint, b: P2PEndpoint): void {
    const key = [`${a.host}:${a.p2pPort}`, `${b.host}:${b.p2pPort}`].sort().join('|');
    if (this.cuts.has(key)) return;
    this.cuts.add(key);
    for (const [x, y] of [
      [a, b],
      [b, a],
    ] as const) {
      // x dialed y's listener: x -> y:port and y:port -> x
      must(['-A', this.chain, '-p', 'tcp', '-s', x.host, '-d', y.host, '--dport', String(y.p2pPort), '-j', 'DROP']);
      must(['-A', this.chain, '-p', 'tcp', '-s', y.host, '-d', x.host, '--sport', String(y.p2pPort), '-j', 'DROP']);
    }
  }

  /** Cuts every link between the two groups. */
  partition(left: P2PEndpoint[], right: P2PEndpoint[]): void {
    for (const a of left) for (const b of right) this.cut(a, b);
  }

  /** Node `x` from all the others. */
  isolate(x: P2PEndpoint, all: P2PEndpoint[]): void {
    this.partition(
      [x],
      all.filter((n) => n !== x),
    );
  }

  /** Restores every link (the chain stays, empty). */
  heal(): void {
    must(['-F', this.chain]);
    this.cuts.clear();
  }

  get cutCount(): number {
    return this.cuts.size;
  }

  teardown(): void {
    this.cuts.clear();
    this.remove(this.chain);
  }
}
