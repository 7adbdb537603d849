export * from './world-state.js';
export * from './records.js';
export * from './views.js';
export * from './genesis-state.js';
export * from './transition.js';
export type { StateProof, SmtNode } from './smt.js';
export * from './snapshot.js';
export { pkHexOf } from './pk-keys.js';
