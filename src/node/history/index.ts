export * from './state-history.js';
