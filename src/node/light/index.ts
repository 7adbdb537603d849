export * from './light-node.js';
export * from './light-client.js';
export * from './light-store.js';
