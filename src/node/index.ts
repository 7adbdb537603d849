export { ChainNode, ChainNodeCodes } from './chain-node.js';
