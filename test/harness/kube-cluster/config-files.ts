/**
 * Configuration files of the one-node cluster's components (containerd, CNI, kubelet, CoreDNS),
 * as text. Paths and addresses come from the layout in layout.ts.
 */
import type { ClusterLayout } from './layout.js';

export function containerdConfig(l: ClusterLayout, sandboxImage: string): string {
  return `version = 2
root = "${l.containerdRoot}"
state = "${l.containerdState}"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]

[grpc]
  address = "${l.containerdSocket}"

[plugins."io.containerd.internal.v1.opt"]
  path = "${l.containerdRoot}/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${sandboxImage}"
  # The pause container asks for an OOM score adjustment that needs a capability these hosts
  # lack (runc: "can't get final child's PID from pipe"); never lower it below the parent's.
  restrict_oom_score_adj = true
  enable_selinux = false
  # Pod network namespaces under our state dir, not the host's /var/run/netns.
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${l.cniBinDir}"
    conf_dir = "${l.cniConfDir}"
`;
}

/** Bridge + host-local IPAM on the harness's own bridge; no masquerade: pods reach nothing beyond this host. */
export function cniConfig(l: ClusterLayout): string {
  return JSON.stringify(
    {
      cniVersion: '0.4.0',
      name: 'consortia',
      plugins: [
        {
          type: 'bridge',
          bridge: l.net.bridge,
          isGateway: true,
          hairpinMode: true,
          ipMasq: false,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: l.net.podCidr, gateway: l.net.gateway }]],
            routes: [{ dst: '0.0.0.0/0' }],
            dataDir: l.cniIpamDir,
          },
        },
      ],
    },
    null,
    2,
  );
}

export function kubeletConfig(l: ClusterLayout, clientCaFile: string, healthzPort: number): string {
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: ${l.net.gateway}
port: ${l.net.kubeletPort}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: ${healthzPort}
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: false }
  x509: { clientCAFile: ${clientCaFile} }
authorization:
  mode: AlwaysAllow
# cgroups are v1 (hybrid) here: cgroupfs driver, and v1 must be allowed explicitly.
cgroupDriver: cgroupfs
failCgroupV1: false
cgroupRoot: ${l.cgroupRoot}
cgroupsPerQOS: true
enforceNodeAllocatable: [pods]
clusterDNS: [${l.net.gateway}]
clusterDomain: ${l.net.clusterDomain}
resolvConf: ${l.resolvConf}
failSwapOn: false
containerRuntimeEndpoint: unix://${l.containerdSocket}
serializeImagePulls: false
# The host's disk is shared with everything else: evict only when it is really full.
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  nodefs.inodesFree: 1%
  imagefs.available: 1%
imageGCHighThresholdPercent: 99
imageGCLowThresholdPercent: 98
maxPods: 110
syncFrequency: 10s
fileCheckFrequency: 10s
nodeStatusUpdateFrequency: 5s
shutdownGracePeriod: 0s
`;
}

/** CoreDNS serves cluster.local from the API server on the bridge address; nothing is forwarded out of the host. */
export function corefile(l: ClusterLayout, kubeconfigPath: string, context: string): string {
  return `.:${l.net.dnsPort} {
    bind ${l.net.gateway}
    errors
    kubernetes ${l.net.clusterDomain} in-addr.arpa ip6.arpa {
        kubeconfig ${kubeconfigPath} ${context}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
    }
    cache 5
}
`;
}
