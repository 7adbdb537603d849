export * from './pruner.js';
