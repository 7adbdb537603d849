import { ConsortiaError } from '../lib/errors.js';

/** Error codes of the consensus domain (thrown only for programming errors at start/config). */
export const ConsensusCodes = {
  INVALID_VALIDATOR_SET: 'CONSENSUS_INVALID_VALIDATOR_SET',
  INVALID_CONFIG: 'CONSENSUS_INVALID_CONFIG',
} as const;

export function consensusError(code: string, message: string, details?: Record<string, unknown>): ConsortiaError {
  return new ConsortiaError(code, message, details);
}
