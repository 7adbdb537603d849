/**
 * The real one-node cluster by hand, for a developer's look:
 *   npx tsx test/harness/kube-cluster/cli.ts up     start it (builds or reuses binaries and images), print the
 *                                          kubeconfig path, keep running until Ctrl-C, then tear down
 *   npx tsx test/harness/kube-cluster/cli.ts down   tear down a cluster left by a killed run
 */
import { ensureClusterBinaries } from '../kube-env/binaries.js';
import { startCluster, teardown } from './cluster.js';
import { buildImages } from './images.js';

async function main(): Promise<void> {
  const cmd = process.argv[2];
  if (cmd === 'down') {
    const left = await teardown();
    console.log(left.length ? `host still differs: ${left.join('; ')}` : 'torn down; host as recorded');
    return;
  }
  if (cmd !== 'up') {
    console.error('usage: cli.ts up [--no-images] | down');
    process.exit(2);
  }
  const binaries = ensureClusterBinaries();
  const images = process.argv.includes('--no-images') ? undefined : buildImages();
  const cluster = await startCluster({
    binaries,
    images: images ? [images.node.archive, images.controlPlane.archive] : [],
  });
  console.log(`kubeconfig: ${cluster.kubeconfigPath}`);
  console.log(`logs: ${cluster.layout.logDir}`);
  const stop = () => {
    void cluster.stop().then((left) => {
      console.log(left.length ? `host still differs: ${left.join('; ')}` : 'torn down; host as recorded');
      process.exit(0);
    });
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

void main();
