export { runCli, buildProgram } from './program.js';
export { processIo, type CliIo } from './io.js';
export { ApiClient } from './api-client.js';
export { createOrgKey, loadKeyFile, loadOrgKey } from './key-file.js';
export { signVote, signGenesisApproval, computeGenesisHash } from './signing.js';
export { CliCodes } from './errors.js';
