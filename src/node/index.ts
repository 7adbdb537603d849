export { ChainNode } from './chain-node.js';
export { ChainNodeCodes } from './chain-node-codes.js';
