export { ChainNode } from './chain-node.js';
export { ChainNodeCodes } from './chain-node-codes.js';
export { defaultVerifyWorkers } from './verify-pool/index.js';
