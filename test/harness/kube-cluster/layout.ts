import { join } from 'node:path';
import { REPO_ROOT } from '../kube-env/binaries.js';

/**
 * Where the one-node cluster keeps its files and which addresses it uses. Only loopback and one
 * bridge the harness creates (with its pods behind it) carry its traffic.
 */
export interface ClusterLayout {
  /** Per run: etcd data, certificates, kubelet root, logs, PV directories. Wiped at start and stop. */
  runDir: string;
  /** Kept across runs: containerd's content store (imported images). */
  containerdRoot: string;
  /** Sockets and containerd state: short paths (unix socket paths are limited to 107 bytes). */
  socketDir: string;
  containerdState: string;
  containerdSocket: string;
  /** Host-wide record of a running cluster (host snapshot, pids): a later start cleans up after a crash. */
  stateFile: string;
  kubeletRoot: string;
  cniConfDir: string;
  cniBinDir: string;
  cniIpamDir: string;
  pvDir: string;
  resolvConf: string;
  /** Component logs: kept after a stop for a look at what failed, wiped at the next start. */
  logDir: string;
  /** kubelet cgroup root, created under every cgroup v1 controller. */
  cgroupRoot: string;
  nodeName: string;
  net: {
    bridge: string;
    podCidr: string;
    gateway: string;
    serviceCidr: string;
    kubernetesServiceIp: string;
    apiserverPort: number;
    kubeletPort: number;
    dnsPort: number;
    clusterDomain: string;
  };
}

export function clusterLayout(base = join(REPO_ROOT, '.cache', 'cluster')): ClusterLayout {
  const runDir = join(base, 'run');
  const socketDir = '/run/consortia-k8s';
  return {
    runDir,
    containerdRoot: join(base, 'containerd'),
    socketDir,
    containerdState: join(socketDir, 'containerd'),
    containerdSocket: join(socketDir, 'containerd.sock'),
    stateFile: join(socketDir, 'cluster-state.json'),
    kubeletRoot: join(runDir, 'kubelet'),
    cniConfDir: join(runDir, 'cni', 'net.d'),
    cniBinDir: '/usr/lib/cni',
    cniIpamDir: join(runDir, 'cni', 'ipam'),
    pvDir: join(runDir, 'pv'),
    resolvConf: join(runDir, 'resolv.conf'),
    logDir: join(base, 'logs'),
    cgroupRoot: '/consortia-k8s',
    nodeName: 'consortia-node-1',
    net: {
      bridge: 'consortia0',
      podCidr: '10.244.0.0/24',
      gateway: '10.244.0.1',
      serviceCidr: '10.96.0.0/24',
      kubernetesServiceIp: '10.96.0.1',
      apiserverPort: 6443,
      kubeletPort: 10250,
      dnsPort: 53,
      clusterDomain: 'cluster.local',
    },
  };
}
