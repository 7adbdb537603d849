/**
 * A real one-node Kubernetes cluster on this host, for the test/k8s/cluster suite and
 * bench/provision.ts: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, containerd +
 * runc, the CNI bridge plugin, kubelet, kube-proxy, CoreDNS and local PersistentVolumes for every
 * tier storage class. Pods get addresses on a bridge the harness creates; nothing leaves the host.
 *
 * The start records what it is about to change on the host (host-state.ts) in a host-wide state
 * file before changing anything, and the stop puts it back; a start that finds a state file (a
 * run that crashed or was killed) cleans that run up first.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig, KubernetesObjectApi, type KubernetesObject } from '@kubernetes/client-node';
import type { ClusterBinaries } from '../kube-env/binaries.js';
import { generateCerts, generateClientCert } from '../kube-env/certs.js';
import { kubeconfigYaml } from '../kube-env/kubeconfig.js';
import { freePort } from '../kube-env/ports.js';
import { get, startProcess, tail, waitUntil } from '../kube-env/process.js';
import { containerdConfig, cniConfig, corefile, kubeletConfig } from './config-files.js';
import {
  captureHostState,
  diffHostState,
  listNetns,
  restoreHostState,
  writeSysctl,
  type HostState,
} from './host-state.js';
import { clusterLayout, type ClusterLayout } from './layout.js';

export const SANDBOX_IMAGE = 'localhost/consortia/pause:1';
/** Context name of the admin kubeconfig (CoreDNS's Corefile names it too). */
export const KUBECONFIG_CONTEXT = 'consortia';
/** Storage classes the harness serves with local PersistentVolumes: the runtime's tier defaults. */
export const TIER_STORAGE_CLASSES = ['consortia-validator', 'consortia-archive', 'consortia-standard'] as const;
export const DEFAULT_STORAGE_CLASS = 'consortia-standard';
/** Local volumes per class; a consortium of seven nodes plus the control plane uses eight at most. */
const PVS_PER_CLASS = 12;
/** Local volumes do not enforce a size; the declared capacity only has to satisfy every request. */
const PV_CAPACITY = '1Ti';
const START_TIMEOUT_MS = 180_000;
const STOP_GRACE_MS = 10_000;
const COMPONENTS = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'containerd',
  'kubelet',
  'kube-proxy',
  'coredns',
] as const;
type Component = (typeof COMPONENTS)[number];

interface StateFile {
  host: HostState;
  pids: Partial<Record<Component, number>>;
  layout: ClusterLayout;
  kubeProxy?: string;
}

export interface Cluster {
  layout: ClusterLayout;
  /** Admin kubeconfig (server on the bridge address, reachable from the host and from pods). */
  kubeconfig: string;
  kubeconfigPath: string;
  server: string;
  /** Imports an image archive (docker-archive or OCI) into the node's containerd. */
  importImage(archive: string): void;
  /** Runs `ctr` against the node's containerd (k8s.io namespace). */
  ctr(args: string[]): string;
  logs(component: Component, lines?: number): string;
  stop(): Promise<string[]>;
}

const log = (msg: string) => process.stderr.write(`[cluster] ${msg}\n`);
const sh = (cmd: string, args: string[], opts: { allowFail?: boolean; timeoutMs?: number } = {}): string => {
  try {
    return execFileSync(cmd, args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: opts.timeoutMs ?? 120_000,
    });
  } catch (err) {
    if (opts.allowFail) return '';
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.stderr || e.message}`);
  }
};

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function killPid(pid: number | undefined, graceMs = STOP_GRACE_MS): Promise<void> {
  if (!pid || !alive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && alive(pid)) await new Promise((r) => setTimeout(r, 100));
  if (alive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

function cgroupControllers(): string[] {
  return readdirSync('/sys/fs/cgroup').filter(
    (c) => c !== 'unified' && existsSync(join('/sys/fs/cgroup', c, 'cgroup.procs')),
  );
}

/** kubelet needs its cgroup root under every v1 controller; cpuset children start empty and must copy their parent's cpus/mems. */
function createCgroupRoot(root: string): void {
  for (const c of cgroupControllers()) {
    const dir = join('/sys/fs/cgroup', c, root);
    mkdirSync(dir, { recursive: true });
    if (c === 'cpuset') {
      for (const f of ['cpuset.cpus', 'cpuset.mems'])
        writeFileSync(join(dir, f), readFileSync(join('/sys/fs/cgroup', c, f), 'utf8'));
    }
  }
}

/** Kills every process left in the cgroup tree and removes it, deepest first. */
function removeCgroupRoot(root: string): void {
  const dirs: string[] = [];
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
    }
    dirs.push(d);
  };
  for (const c of cgroupControllers()) walk(join('/sys/fs/cgroup', c, root));
  for (const d of dirs) {
    for (const pid of readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  for (let attempt = 0; attempt < 50; attempt++) {
    let left = 0;
    for (const d of dirs) {
      if (!existsSync(d)) continue;
      try {
        rmdirSync(d);
      } catch {
        left++;
      }
    }
    if (left === 0) return;
    execFileSync('sleep', ['0.1']);
  }
  log(`could not remove every cgroup under ${root}`);
}

/** Unmounts everything mounted at or below the given directories, deepest first. */
function unmountBelow(dirs: string[]): void {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4]?.replace(/\\040/g, ' ') ?? '')
    .filter((m) => m && dirs.some((d) => m === d || m.startsWith(`${d}/`)))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) sh('umount', ['-l', m], { allowFail: true });
}

/** Processes whose command line names our containerd socket: shims that outlive containerd. */
function shimPids(socket: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8');
      if (cmd.includes('containerd-shim') && cmd.includes(socket)) out.push(Number(e));
    } catch {
      // exited while we looked
    }
  }
  return out;
}

function readState(file: string): StateFile | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as StateFile;
  } catch {
    return undefined;
  }
}

/**
 * Stops a cluster from its state file and puts the host back as recorded. Safe to call on a
 * half-started or crashed cluster. Returns what still differs from the recorded host state.
 */
export async function teardown(stateFile = clusterLayout().stateFile): Promise<string[]> {
  const state = readState(stateFile);
  if (!state) return [];
  const l = state.layout;
  for (const c of ['kube-controller-manager', 'kube-scheduler', 'kubelet', 'kube-proxy', 'coredns'] as const)
    await killPid(state.pids[c]);
  if (state.kubeProxy && existsSync(state.kubeProxy)) sh(state.kubeProxy, ['--cleanup'], { allowFail: true });
  // Pods: kill every task containerd knows, then containerd itself and any shim it left.
  if (state.pids.containerd && alive(state.pids.containerd)) {
    const ctr = (args: string[]) =>
      sh('ctr', ['--address', l.containerdSocket, '-n', 'k8s.io', ...args], { allowFail: true, timeoutMs: 30_000 });
    for (const id of ctr(['tasks', 'ls', '-q']).split('\n').filter(Boolean))
      ctr(['tasks', 'kill', '-s', 'SIGKILL', id]);
    for (const id of ctr(['tasks', 'ls', '-q']).split('\n').filter(Boolean)) ctr(['tasks', 'rm', '-f', id]);
    for (const id of ctr(['containers', 'ls', '-q']).split('\n').filter(Boolean)) ctr(['containers', 'rm', id]);
  }
  await killPid(state.pids.containerd);
  for (const pid of shimPids(l.containerdSocket)) await killPid(pid, 2_000);
  removeCgroupRoot(l.cgroupRoot);
  for (const c of ['kube-apiserver', 'etcd'] as const) await killPid(state.pids[c]);
  // Network namespaces the CNI made, then the bridge (veths go with their namespaces).
  for (const ns of listNetns().filter((n) => !state.host.netns.includes(n))) {
    sh('umount', ['-l', `/var/run/netns/${ns}`], { allowFail: true });
    rmSync(`/var/run/netns/${ns}`, { force: true });
  }
  sh('ip', ['link', 'del', l.net.bridge], { allowFail: true });
  unmountBelow([l.runDir, l.containerdRoot, l.socketDir]);
  restoreHostState(state.host);
  rmSync(l.runDir, { recursive: true, force: true });
  rmSync(l.containerdState, { recursive: true, force: true });
  rmSync(stateFile, { force: true });
  rmSync(l.socketDir, { recursive: true, force: true });
  const diff = diffHostState(state.host, captureHostState());
  if (diff.length) log(`host differs after teardown: ${diff.join('; ')}`);
  return diff;
}

async function createObjects(kubeconfig: string, objects: KubernetesObject[]): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfig);
  const api = KubernetesObjectApi.makeApiClient(kc);
  for (const o of objects) await api.create(o);
}

function storageObjects(l: ClusterLayout): KubernetesObject[] {
  const out: KubernetesObject[] = [];
  for (const cls of TIER_STORAGE_CLASSES) {
    out.push({
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: {
        name: cls,
        ...(cls === DEFAULT_STORAGE_CLASS
          ? { annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } }
          : {}),
      },
      provisioner: 'kubernetes.io/no-provisioner',
      volumeBindingMode: 'WaitForFirstConsumer',
      reclaimPolicy: 'Retain',
    } as KubernetesObject);
    for (let i = 0; i < PVS_PER_CLASS; i++) {
      const name = `${cls}-${i}`;
      const path = join(l.pvDir, name);
      mkdirSync(path, { recursive: true });
      out.push({
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name, labels: { 'consortia.io/test-pv': cls } },
        spec: {
          capacity: { storage: PV_CAPACITY },
          accessModes: ['ReadWriteOnce'],
          persistentVolumeReclaimPolicy: 'Retain',
          storageClassName: cls,
          volumeMode: 'Filesystem',
          local: { path },
          nodeAffinity: {
            required: {
              nodeSelectorTerms: [
                { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [l.nodeName] }] },
              ],
            },
          },
        },
      } as KubernetesObject);
    }
  }
  return out;
}

export interface StartClusterOptions {
  binaries: ClusterBinaries;
  /** Image archives imported into containerd before the kubelet starts. */
  images?: string[];
  layout?: ClusterLayout;
}

export async function startCluster(o: StartClusterOptions): Promise<Cluster> {
  const l = o.layout ?? clusterLayout();
  const bins = o.binaries;
  if (existsSync(l.stateFile)) {
    log('a previous cluster was not torn down; cleaning it up first');
    await teardown(l.stateFile);
  }
  mkdirSync(l.socketDir, { recursive: true });
  const state: StateFile = { host: captureHostState(), pids: {}, layout: l, kubeProxy: bins.kubeProxy };
  const saveState = () => writeFileSync(l.stateFile, JSON.stringify(state));
  saveState();
  const children: ChildProcess[] = [];
  const spawnComponent = (c: Component, bin: string, args: string[]): { proc: ChildProcess; logFile: string } => {
    const logFile = join(l.logDir, `${c}.log`);
    const proc = startProcess(bin, args, logFile);
    children.push(proc);
    state.pids[c] = proc.pid;
    saveState();
    return { proc, logFile };
  };
  const killAll = () => {
    for (const p of children) p.kill('SIGKILL');
  };
  process.once('exit', killAll);
  const cluster: Cluster = {
    layout: l,
    kubeconfig: '',
    kubeconfigPath: join(l.runDir, 'admin.kubeconfig'),
    server: `https://${l.net.gateway}:${l.net.apiserverPort}`,
    importImage: (archive) => {
      sh(
        'ctr',
        ['--address', l.containerdSocket, '-n', 'k8s.io', 'images', 'import', '--snapshotter', 'overlayfs', archive],
        { timeoutMs: 600_000 },
      );
    },
    ctr: (args) => sh('ctr', ['--address', l.containerdSocket, '-n', 'k8s.io', ...args]),
    logs: (c, lines = 40) => tail(join(l.logDir, `${c}.log`), lines),
    stop: async () => {
      process.off('exit', killAll);
      return teardown(l.stateFile);
    },
  };
  try {
    unmountBelow([l.runDir]);
    rmSync(l.runDir, { recursive: true, force: true });
    rmSync(l.logDir, { recursive: true, force: true });
    for (const d of [
      l.runDir,
      l.logDir,
      l.kubeletRoot,
      l.cniConfDir,
      l.cniIpamDir,
      l.pvDir,
      l.containerdRoot,
      join(l.runDir, 'pki'),
    ])
      mkdirSync(d, { recursive: true });

    // Network: our bridge, forwarding and the bridge netfilter hooks kube-proxy's Service rules rely on.
    sh('ip', ['link', 'add', l.net.bridge, 'type', 'bridge']);
    sh('ip', ['addr', 'add', `${l.net.gateway}/${l.net.podCidr.split('/')[1]}`, 'dev', l.net.bridge]);
    sh('ip', ['link', 'set', l.net.bridge, 'up']);
    writeSysctl('net.ipv4.ip_forward', '1');
    writeSysctl('net.bridge.bridge-nf-call-iptables', '1');
    writeFileSync(l.resolvConf, `nameserver ${l.net.gateway}\n`);

    const pki = join(l.runDir, 'pki');
    const certs = generateCerts(pki, [
      `IP:${l.net.gateway}`,
      `IP:${l.net.kubernetesServiceIp}`,
      'DNS:kubernetes',
      'DNS:kubernetes.default',
      `DNS:kubernetes.default.svc.${l.net.clusterDomain}`,
    ]);
    const kubeletClient = generateClientCert(
      pki,
      'apiserver-kubelet-client',
      'kube-apiserver-kubelet-client',
      'system:masters',
    );
    const token = randomBytes(24).toString('hex');
    writeFileSync(join(pki, 'tokens.csv'), `${token},admin,admin-uid,"system:masters"\n`, { mode: 0o600 });
    const ca = readFileSync(certs.caCert, 'utf8');
    cluster.kubeconfig = kubeconfigYaml(cluster.server, ca, token, KUBECONFIG_CONTEXT);
    writeFileSync(cluster.kubeconfigPath, cluster.kubeconfig, { mode: 0o600 });

    // etcd
    const [etcdClient, etcdPeer] = [await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    const etcd = spawnComponent('etcd', bins.etcd, [
      '--name',
      'default',
      '--data-dir',
      join(l.runDir, 'etcd'),
      '--listen-client-urls',
      etcdUrl,
      '--advertise-client-urls',
      etcdUrl,
      '--listen-peer-urls',
      `http://127.0.0.1:${etcdPeer}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${etcdPeer}`,
      '--initial-cluster',
      `default=http://127.0.0.1:${etcdPeer}`,
      '--quota-backend-bytes',
      String(1024 * 1024 * 1024),
      '--unsafe-no-fsync',
    ]);
    await waitUntil(
      'etcd',
      60_000,
      etcd.proc,
      async () => (await get(`${etcdUrl}/health`)).status === 200,
      etcd.logFile,
    );

    // kube-apiserver on the bridge address: pods reach it through the `kubernetes` Service.
    const apiserver = spawnComponent('kube-apiserver', bins.kubeApiserver, [
      `--etcd-servers=${etcdUrl}`,
      `--bind-address=${l.net.gateway}`,
      `--advertise-address=${l.net.gateway}`,
      `--secure-port=${l.net.apiserverPort}`,
      `--cert-dir=${join(pki, 'apiserver')}`,
      `--tls-cert-file=${certs.servingCert}`,
      `--tls-private-key-file=${certs.servingKey}`,
      `--client-ca-file=${certs.caCert}`,
      `--token-auth-file=${join(pki, 'tokens.csv')}`,
      `--kubelet-client-certificate=${kubeletClient.cert}`,
      `--kubelet-client-key=${kubeletClient.key}`,
      // The node's name resolves nowhere (no DNS of the host's knows it): reach the kubelet by address.
      '--kubelet-preferred-address-types=InternalIP',
      '--authorization-mode=RBAC',
      `--service-account-issuer=https://kubernetes.default.svc.${l.net.clusterDomain}`,
      `--service-account-key-file=${certs.saPub}`,
      `--service-account-signing-key-file=${certs.saKey}`,
      `--service-cluster-ip-range=${l.net.serviceCidr}`,
      '--allow-privileged=false',
      '--enable-priority-and-fairness=false',
      '--profiling=false',
      '--v=1',
    ]);
    await waitUntil(
      'kube-apiserver',
      START_TIMEOUT_MS,
      apiserver.proc,
      async () => (await get(`${cluster.server}/readyz`, { ca, token })).status === 200,
      apiserver.logFile,
    );

    const componentKubeconfig = join(l.runDir, 'component.kubeconfig');
    writeFileSync(componentKubeconfig, cluster.kubeconfig, { mode: 0o600 });
    spawnComponent('kube-controller-manager', bins.kubeControllerManager, [
      `--kubeconfig=${componentKubeconfig}`,
      `--authentication-kubeconfig=${componentKubeconfig}`,
      `--authorization-kubeconfig=${componentKubeconfig}`,
      `--service-account-private-key-file=${certs.saKey}`,
      `--root-ca-file=${certs.caCert}`,
      '--leader-elect=false',
      '--use-service-account-credentials=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${await freePort()}`,
      `--service-cluster-ip-range=${l.net.serviceCidr}`,
      '--controllers=*,-nodeipam,-cloud-node-lifecycle',
      '--profiling=false',
      '--v=1',
    ]);
    spawnComponent('kube-scheduler', bins.kubeScheduler, [
      `--kubeconfig=${componentKubeconfig}`,
      `--authentication-kubeconfig=${componentKubeconfig}`,
      `--authorization-kubeconfig=${componentKubeconfig}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${await freePort()}`,
      '--profiling=false',
      '--v=1',
    ]);

    // containerd + images, before the kubelet asks for them.
    const containerdToml = join(l.runDir, 'containerd.toml');
    writeFileSync(containerdToml, containerdConfig(l, SANDBOX_IMAGE));
    writeFileSync(join(l.cniConfDir, '10-consortia.conflist'), cniConfig(l));
    const containerd = spawnComponent('containerd', 'containerd', ['--config', containerdToml]);
    await waitUntil(
      'containerd',
      60_000,
      containerd.proc,
      async () =>
        existsSync(l.containerdSocket) &&
        sh('ctr', ['--address', l.containerdSocket, 'version'], { allowFail: true }).includes('Server'),
      containerd.logFile,
    );
    for (const archive of [bins.pauseArchive, ...(o.images ?? [])]) {
      const t = Date.now();
      cluster.importImage(archive);
      log(`imported ${archive} in ${Date.now() - t} ms`);
    }

    createCgroupRoot(l.cgroupRoot);
    const kubeletCfg = join(l.runDir, 'kubelet.yaml');
    writeFileSync(kubeletCfg, kubeletConfig(l, certs.caCert, await freePort()));
    const kubelet = spawnComponent('kubelet', bins.kubelet, [
      `--config=${kubeletCfg}`,
      `--kubeconfig=${componentKubeconfig}`,
      `--root-dir=${l.kubeletRoot}`,
      `--cert-dir=${join(pki, 'kubelet')}`,
      `--hostname-override=${l.nodeName}`,
      `--node-ip=${l.net.gateway}`,
      '--v=1',
    ]);
    spawnComponent('kube-proxy', bins.kubeProxy, [
      `--kubeconfig=${componentKubeconfig}`,
      `--hostname-override=${l.nodeName}`,
      '--proxy-mode=iptables',
      `--cluster-cidr=${l.net.podCidr}`,
      '--conntrack-max-per-core=0',
      '--conntrack-tcp-timeout-established=0s',
      '--conntrack-tcp-timeout-close-wait=0s',
      '--iptables-localhost-nodeports=false',
      `--metrics-bind-address=127.0.0.1:${await freePort()}`,
      `--healthz-bind-address=127.0.0.1:${await freePort()}`,
      '--v=1',
    ]);
    const corefilePath = join(l.runDir, 'Corefile');
    writeFileSync(corefilePath, corefile(l, componentKubeconfig, KUBECONFIG_CONTEXT));
    const dns = spawnComponent('coredns', bins.coredns, ['-conf', corefilePath]);

    const nodeReady = async () => {
      const r = await get(`${cluster.server}/api/v1/nodes/${l.nodeName}`, { ca, token });
      if (r.status !== 200) return false;
      const node = JSON.parse(r.body) as { status?: { conditions?: { type: string; status: string }[] } };
      return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    };
    await waitUntil('kubelet (node Ready)', START_TIMEOUT_MS, kubelet.proc, nodeReady, kubelet.logFile);
    await createObjects(cluster.kubeconfig, storageObjects(l));
    // The `default` ServiceAccount (pods are refused without it) and cluster DNS for the API server's Service.
    await waitUntil(
      'default ServiceAccount',
      START_TIMEOUT_MS,
      apiserver.proc,
      async () =>
        (await get(`${cluster.server}/api/v1/namespaces/default/serviceaccounts/default`, { ca, token })).status ===
        200,
      apiserver.logFile,
    );
    const resolver = new Resolver({ timeout: 1000, tries: 1 });
    resolver.setServers([`${l.net.gateway}:${l.net.dnsPort}`]);
    await waitUntil(
      'cluster DNS',
      60_000,
      dns.proc,
      async () =>
        (await resolver.resolve4(`kubernetes.default.svc.${l.net.clusterDomain}`)).includes(l.net.kubernetesServiceIp),
      dns.logFile,
    );
    log(`ready: ${cluster.server}, node ${l.nodeName}, pods on ${l.net.podCidr}`);
    return cluster;
  } catch (err) {
    await cluster.stop().catch((e: unknown) => log(`teardown after failed start: ${(e as Error).message}`));
    throw err;
  }
}
