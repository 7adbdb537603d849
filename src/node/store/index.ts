export {
  ChainStore,
  StoreKeys,
  KIND_RANGES,
  hkey,
  type CommittedBlockWrite,
  type TxLocation,
  type Head,
} from './chain-store.js';
export {
  PrivValidator,
  DoubleSignError,
  SignStep,
  type PrivSigner,
  type SignStepName,
  writeDurably,
} from './privval.js';
export { diskUsage } from './disk-usage.js';
export * from './epochs.js';
