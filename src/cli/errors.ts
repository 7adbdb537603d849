import { ConsortiaError } from '../lib/errors.js';

/** CLI error codes; API errors keep the server's code. */
export const CliCodes = {
  USAGE: 'USAGE',
  NOT_LOGGED_IN: 'NOT_LOGGED_IN',
  API_UNREACHABLE: 'API_UNREACHABLE',
  KEY_NOT_FOUND: 'KEY_NOT_FOUND',
  KEY_EXISTS: 'KEY_EXISTS',
  KEY_FILE_INSECURE: 'KEY_FILE_INSECURE',
  KEY_INVALID: 'KEY_INVALID',
  TIMEOUT: 'TIMEOUT',
  GENESIS_HASH_MISMATCH: 'GENESIS_HASH_MISMATCH',
  TRANSCRIPT_INVALID: 'TRANSCRIPT_INVALID',
  ABORTED: 'ABORTED',
  INVALID_STATE: 'INVALID_STATE',
} as const;

/** Exit codes: 1 = operation failed (API error, timeout), 2 = bad usage / flag values, 3 = auth. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof ConsortiaError) {
    if (err.code === CliCodes.USAGE) return 2;
    const status = err.details?.status;
    if (status === 401 || status === 403 || err.code === CliCodes.NOT_LOGGED_IN) return 3;
  }
  return 1;
}

export function usage(message: string): ConsortiaError {
  return new ConsortiaError(CliCodes.USAGE, message);
}
