export type {
  NodeRole,
  TierSettings,
  NodeResources,
  PeerRef,
  NodeSpec,
  ExpectedGenesis,
  NodeEndpoints,
  ObservedPhase,
  NodeObservation,
  Runtime,
} from './runtime.js';
export {
  createLocalRuntime,
  stopAllLocalNodes,
  LocalRuntime,
  type LocalRuntimeOptions,
  type HostRange,
} from './local/index.js';
