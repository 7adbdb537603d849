export type { ApiContext } from './context.js';
export { ensureBootstrap } from './bootstrap.js';
export { installErrorHandler } from './error-handler.js';
export * as schemas from './schemas.js';
