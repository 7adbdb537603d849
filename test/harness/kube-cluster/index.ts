export {
  startCluster,
  teardown,
  SANDBOX_IMAGE,
  TIER_STORAGE_CLASSES,
  DEFAULT_STORAGE_CLASS,
  type Cluster,
  type StartClusterOptions,
} from './cluster.js';
export { clusterLayout, type ClusterLayout } from './layout.js';
export { buildImages, type BuiltImages, type BuiltImage } from './images.js';
export { captureHostState, diffHostState, type HostState } from './host-state.js';
