export type * from './backend.js';
export { createNodeApi, type NodeApiOptions } from './server.js';
export type { NodeApiContext, NodeApiLimits, NodeApp } from './context.js';
export { NodeApiCodes, CHAIN_REJECTION_CODES, statusForCode } from './errors.js';
export { encodeLengthPrefixed, splitLengthPrefixed } from './routes/txs.js';
export { hex, toJsonValue } from './json.js';
export * from './limits.js';
export { AdmissionQueue } from './admission.js';
