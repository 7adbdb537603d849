export * from './snapshot-bootstrap.js';
