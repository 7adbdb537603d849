export * from './codes.js';
export * from './header-chain.js';
export * from './proofs.js';
