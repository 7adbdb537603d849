export { ChainStore, type CommittedBlockWrite, type TxLocation, type Head } from './chain-store.js';
export { PrivValidator, DoubleSignError, SignStep, type SignStepName, writeDurably } from './privval.js';
