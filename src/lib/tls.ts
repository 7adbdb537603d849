export * from './tls-config.js';
export * from './tls-cert.js';
export * from './tls-client.js';
export * from './tls-fingerprint.js';
export * from './tls-ca.js';
