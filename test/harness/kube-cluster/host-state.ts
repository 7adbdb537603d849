import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';

/**
 * What the one-node cluster changes on the host, recorded before it starts so that teardown can
 * put it back: kubelet writes kernel sysctls (kernel.panic, panic_on_oops, vm.overcommit_memory,
 * ...), kube-proxy and the CNI bridge add iptables rules and need ip_forward and the bridge
 * netfilter hooks, containerd creates network namespaces.
 */
export interface HostState {
  sysctls: Record<string, string>;
  iptables: string;
  ip6tables: string;
  netns: string[];
  links: string[];
}

/** Every sysctl a component of the cluster is known to write (kubelet's protectKernelDefaults list, kube-proxy, CNI). */
export const TOUCHED_SYSCTLS = [
  'kernel.panic',
  'kernel.panic_on_oops',
  'kernel.keys.root_maxkeys',
  'kernel.keys.root_maxbytes',
  'vm.overcommit_memory',
  'vm.panic_on_oom',
  'net.ipv4.ip_forward',
  'net.ipv4.conf.all.route_localnet',
  'net.ipv4.conf.all.forwarding',
  'net.ipv6.conf.all.forwarding',
  'net.bridge.bridge-nf-call-iptables',
  'net.bridge.bridge-nf-call-ip6tables',
  'net.netfilter.nf_conntrack_max',
  'net.netfilter.nf_conntrack_tcp_timeout_established',
  'net.netfilter.nf_conntrack_tcp_timeout_close_wait',
  'net.netfilter.nf_conntrack_tcp_be_liberal',
] as const;

const sysctlPath = (name: string) => `/proc/sys/${name.replaceAll('.', '/')}`;

export function readSysctl(name: string): string | undefined {
  try {
    return readFileSync(sysctlPath(name), 'utf8').trim();
  } catch {
    return undefined;
  }
}

export function writeSysctl(name: string, value: string): void {
  writeFileSync(sysctlPath(name), `${value}\n`);
}

const run = (cmd: string, args: string[], input?: string): string =>
  execFileSync(cmd, args, {
    encoding: 'utf8',
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    ...(input !== undefined ? { input } : {}),
  });

/**
 * iptables-save without the comments and counters that change on their own, and without tables
 * that hold nothing (only built-in chains with an ACCEPT policy): with the nf_tables backend a
 * flushed table stays listed, empty.
 */
function rules(cmd: 'iptables-save' | 'ip6tables-save'): string {
  let text = '';
  try {
    text = run(cmd, []);
  } catch {
    return '';
  }
  return parseTables(text)
    .filter((t) => !isEmptyTable(t))
    .map((t) => t.lines.join('\n'))
    .join('\n');
}

interface Table {
  name: string;
  /** From `*name` to `COMMIT`, counters zeroed. */
  lines: string[];
}

function parseTables(text: string): Table[] {
  const out: Table[] = [];
  let cur: Table | undefined;
  for (const raw of text.split('\n')) {
    const l = raw.replace(/\[\d+:\d+\]/g, '[0:0]').trimEnd();
    if (!l || l.startsWith('#')) continue;
    if (l.startsWith('*')) {
      cur = { name: l.slice(1), lines: [l] };
      out.push(cur);
    } else cur?.lines.push(l);
  }
  return out;
}

/** Built-in chains carry a policy (ACCEPT/DROP); user chains carry '-'. */
function isEmptyTable(t: Table): boolean {
  return t.lines.every((l) => l.startsWith('*') || l === 'COMMIT' || /^:\S+ ACCEPT /.test(l));
}

/**
 * Input for iptables-restore that puts every table back as saved: saved tables as they were, and
 * tables that exist now but held nothing before flushed to their built-in chains (iptables-restore
 * without --noflush empties each table it is given and deletes its user chains).
 */
function restoreInput(saved: string, current: string): string {
  const before = new Map(parseTables(saved).map((t) => [t.name, t]));
  const out: string[] = [];
  for (const t of parseTables(current)) {
    const keep = before.get(t.name);
    if (keep) out.push(...keep.lines);
    else
      out.push(
        `*${t.name}`,
        ...t.lines.filter((l) => /^:\S+ (ACCEPT|DROP) /.test(l)).map((l) => l.replace(/ (DROP) /, ' ACCEPT ')),
        'COMMIT',
      );
  }
  for (const [name, t] of before) if (!parseTables(current).some((c) => c.name === name)) out.push(...t.lines);
  return `${out.join('\n')}\n`;
}

export function listNetns(): string[] {
  return existsSync('/var/run/netns') ? readdirSync('/var/run/netns').sort() : [];
}

function links(): string[] {
  return run('ip', ['-o', 'link', 'show'])
    .split('\n')
    .map((l) => l.split(':')[1]?.trim().split('@')[0] ?? '')
    .filter(Boolean)
    .sort();
}

export function captureHostState(): HostState {
  const sysctls: Record<string, string> = {};
  for (const s of TOUCHED_SYSCTLS) {
    const v = readSysctl(s);
    if (v !== undefined) sysctls[s] = v;
  }
  return {
    sysctls,
    iptables: rules('iptables-save'),
    ip6tables: rules('ip6tables-save'),
    netns: listNetns(),
    links: links(),
  };
}

/** Puts back sysctls and firewall rules as recorded (the other parts are removed by the cluster's teardown). */
export function restoreHostState(saved: HostState): void {
  for (const [k, v] of Object.entries(saved.sysctls)) {
    if (readSysctl(k) !== v) {
      try {
        writeSysctl(k, v);
      } catch {
        // read-only in this kernel or namespace: then nothing could have changed it either
      }
    }
  }
  for (const [save, restore, want] of [
    ['iptables-save', 'iptables-restore', saved.iptables],
    ['ip6tables-save', 'ip6tables-restore', saved.ip6tables],
  ] as const) {
    if (rules(save) === want) continue;
    run(restore, [], restoreInput(want, run(save, [])));
  }
}

/** Differences between two snapshots, one line each (empty: the host is as it was). */
export function diffHostState(before: HostState, after: HostState): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(before.sysctls))
    if (after.sysctls[k] !== v) out.push(`sysctl ${k}: ${v} -> ${after.sysctls[k]}`);
  if (before.iptables !== after.iptables) out.push('iptables rules differ');
  if (before.ip6tables !== after.ip6tables) out.push('ip6tables rules differ');
  const added = (a: string[], b: string[]) => b.filter((x) => !a.includes(x));
  for (const n of added(before.netns, after.netns)) out.push(`network namespace left: ${n}`);
  for (const l of added(before.links, after.links)) out.push(`link left: ${l}`);
  return out;
}
