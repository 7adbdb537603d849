export * from './types.js';
export * from './node-config.js';
export * from './node-objects.js';
export * from './key-provider-objects.js';
export * from './consortium-objects.js';
