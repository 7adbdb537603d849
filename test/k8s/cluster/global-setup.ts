import type { TestProject } from 'vitest/node';
import { ensureClusterBinaries } from '../../harness/kube-env/binaries.js';
import { helmBinary, promOperatorCrdDir } from '../../harness/helm.js';
import { buildImages, type BuiltImages } from '../../harness/kube-cluster/images.js';
import { startCluster, type Cluster } from '../../harness/kube-cluster/cluster.js';

declare module 'vitest' {
  export interface ProvidedContext {
    cluster: {
      kubeconfig: string;
      kubeconfigPath: string;
      server: string;
      containerdSocket: string;
      gateway: string;
      dnsPort: number;
      /** The cluster's one node, and the host folder under which its local PersistentVolumes live. */
      nodeName: string;
      pvDir: string;
    };
    clusterImages: BuiltImages;
    clusterHelm: string;
    clusterKubectl: string;
    promOperatorCrds: string;
  }
}

let cluster: Cluster | undefined;

/**
 * One real cluster for the whole suite (it takes a minute or two to start on 2 cores): binaries
 * and images are built or reused first, here and not in a test file, so that no test worker blocks
 * on a build. The teardown fails the run when the host is not left as it was found.
 */
export async function setup(project: TestProject): Promise<void> {
  const t0 = Date.now();
  const binaries = ensureClusterBinaries();
  const t1 = Date.now();
  const images = buildImages();
  const t2 = Date.now();
  const helm = helmBinary();
  process.stderr.write(
    `[cluster] binaries ${t1 - t0} ms, images ${t2 - t1} ms (node ${images.node.bytes} B, control plane ${images.controlPlane.bytes} B), helm ${Date.now() - t2} ms\n`,
  );
  const t3 = Date.now();
  cluster = await startCluster({ binaries, images: [images.node.archive, images.controlPlane.archive] });
  process.stderr.write(`[cluster] started in ${Date.now() - t3} ms\n`);
  project.provide('cluster', {
    kubeconfig: cluster.kubeconfig,
    kubeconfigPath: cluster.kubeconfigPath,
    server: cluster.server,
    containerdSocket: cluster.layout.containerdSocket,
    gateway: cluster.layout.net.gateway,
    dnsPort: cluster.layout.net.dnsPort,
    nodeName: cluster.layout.nodeName,
    pvDir: cluster.layout.pvDir,
  });
  project.provide('clusterImages', images);
  project.provide('clusterHelm', helm);
  project.provide('clusterKubectl', binaries.kubectl);
  project.provide('promOperatorCrds', promOperatorCrdDir());
}

export async function teardown(): Promise<void> {
  const diff = (await cluster?.stop()) ?? [];
  if (diff.length) throw new Error(`the cluster's teardown left the host changed: ${diff.join('; ')}`);
}
