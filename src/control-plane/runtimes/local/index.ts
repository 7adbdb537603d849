export { createLocalRuntime, stopAllLocalNodes, LocalRuntime, type LocalRuntimeOptions } from './local-runtime.js';
export { type HostRange, type Allocation, DEFAULT_HOST_RANGE } from './allocations.js';
export { nodePaths, type NodePaths } from './node-config.js';
export { LocalRuntimeCodes } from './errors.js';
