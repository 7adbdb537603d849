export { startKubeEnv, type KubeEnv, type StartKubeEnvOptions } from './kube-env.js';
export {
  ensureClusterBinaries,
  ensureKubeBinaries,
  runTool,
  REPO_ROOT,
  type ClusterBinaries,
  type KubeBinaries,
} from './binaries.js';
export { freePort } from './ports.js';
export { get, startProcess, stopProcess, tail, waitUntil } from './process.js';
