import { ConsortiaError } from '../lib/errors.js';

/** Codes thrown by the chain domain (decoders, genesis, commit and block checks). */
export const ChainCodes = {
  CODEC_TRUNCATED: 'CODEC_TRUNCATED',
  CODEC_TRAILING_BYTES: 'CODEC_TRAILING_BYTES',
  CODEC_NON_CANONICAL: 'CODEC_NON_CANONICAL',
  CODEC_OVERSIZE: 'CODEC_OVERSIZE',
  CODEC_INVALID: 'CODEC_INVALID',
  CODEC_RANGE: 'CODEC_RANGE',
  GENESIS_INVALID: 'GENESIS_INVALID',
  GENESIS_MISSING_APPROVAL: 'GENESIS_MISSING_APPROVAL',
  GENESIS_BAD_APPROVAL: 'GENESIS_BAD_APPROVAL',
  GENESIS_BAD_POP: 'GENESIS_BAD_POP',
  COMMIT_UNKNOWN_VALIDATOR: 'COMMIT_UNKNOWN_VALIDATOR',
  COMMIT_DUPLICATE_SIGNATURE: 'COMMIT_DUPLICATE_SIGNATURE',
  COMMIT_BAD_SIGNATURE: 'COMMIT_BAD_SIGNATURE',
  COMMIT_INSUFFICIENT_POWER: 'COMMIT_INSUFFICIENT_POWER',
  BLOCK_INVALID: 'BLOCK_INVALID',
  BLOCK_INVALID_EVIDENCE: 'BLOCK_INVALID_EVIDENCE',
} as const;

/** Stable per-transaction rejection codes (results of checkTx / executeBlock). */
export const RejectionCodes = {
  INVALID_TX: 'INVALID_TX', // undecodable bytes inside a block
  BAD_SIGNATURE: 'BAD_SIGNATURE',
  BAD_NONCE: 'BAD_NONCE',
  WRONG_CHAIN: 'WRONG_CHAIN',
  ACCOUNT_EXISTS: 'ACCOUNT_EXISTS',
  NO_ACCOUNT: 'NO_ACCOUNT',
  INSUFFICIENT_BALANCE: 'INSUFFICIENT_BALANCE',
  UNKNOWN_ASSET: 'UNKNOWN_ASSET',
  ASSET_EXISTS: 'ASSET_EXISTS',
  NOT_ISSUER: 'NOT_ISSUER',
  BAD_AMOUNT: 'BAD_AMOUNT',
  TX_TOO_LARGE: 'TX_TOO_LARGE',
  DUPLICATE_ANCHOR: 'DUPLICATE_ANCHOR',
  GOV_BAD_SIGNATURE: 'GOV_BAD_SIGNATURE',
  GOV_THRESHOLD_NOT_MET: 'GOV_THRESHOLD_NOT_MET',
  GOV_UNKNOWN_MEMBER: 'GOV_UNKNOWN_MEMBER',
  GOV_ALREADY_EXECUTED: 'GOV_ALREADY_EXECUTED',
  GOV_INVALID_ACTION: 'GOV_INVALID_ACTION',
  GOV_DUPLICATE_VOTE: 'GOV_DUPLICATE_VOTE',
  /** A vote, tx signature or endorsement by an admin key that replace_admin_keys retired. */
  GOV_KEY_RETIRED: 'GOV_KEY_RETIRED',
  /** replace_admin_keys: the endorsement is not by a current admin key of the member or does not verify. */
  GOV_BAD_ENDORSEMENT: 'GOV_BAD_ENDORSEMENT',
} as const;
export type RejectionCode = (typeof RejectionCodes)[keyof typeof RejectionCodes];

/** Malformed, non-canonical or oversized encoded input. `code` is one of the CODEC_* codes. */
export class CodecError extends ConsortiaError {
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
    this.name = 'CodecError';
  }
}
