export { ConsortiaError, CommonCodes, isConsortiaError } from './errors.js';
export { readConfigFile, envOverlay, validateConfig } from './config.js';
export { createLogger, type Logger, type LogLevel } from './logging.js';
export * from './node-flags.js';
export { canonicalJson } from './canonical-json.js';
export * from './tls.js';
// Key custody backends; pkcs11js and the AWS SDK load only when a key of theirs is opened.
export * from './custody/index.js';
