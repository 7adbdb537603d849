export { ConsortiaError, CommonCodes, isConsortiaError } from './errors.js';
export { readConfigFile, envOverlay, validateConfig } from './config.js';
export { createLogger, type Logger, type LogLevel } from './logging.js';
export * from './node-flags.js';
