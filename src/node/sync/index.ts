export { BlockSync, type BlockSyncOptions } from './block-sync.js';
