// Public surface of the pure ledger model (see docs/protocol.md and docs/architecture.md).
export * from './errors.js';
export { ConsortiaError, isConsortiaError } from '../lib/errors.js';
export * from './bytes.js';
export { Writer, Reader, Limits } from './codec.js';
export * from './keys.js';
export * from './params.js';
export * from './governance.js';
export * from './tx.js';
export * from './genesis.js';
export * from './block.js';
export * from './merkle.js';
export * from './state/index.js';
export * from './light/index.js';
export * from './transcript.js';
export * from './signer.js';
