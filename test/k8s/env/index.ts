export { startKubeEnv, type KubeEnv, type StartKubeEnvOptions } from './kube-env.js';
export { ensureKubeBinaries, REPO_ROOT, type KubeBinaries } from './binaries.js';
export { freePort } from './ports.js';
