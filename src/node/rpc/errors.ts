/**
 * Error codes the node API itself raises, and the ONE code -> HTTP status table of the node
 * API (docs/protocol.md#node-http-api). Codes raised by the chain (CODEC_*, GENESIS_*, rejection codes) and by
 * the node (MEMPOOL_FULL, PRUNED, ...) are mapped here by name, not imported, so the table
 * does not depend on where each domain keeps its constants.
 */
export const NodeApiCodes = {
  INVALID_TX: 'INVALID_TX',
  INVALID_REQUEST: 'INVALID_REQUEST',
  TX_TOO_LARGE: 'TX_TOO_LARGE',
  BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  /** More items than TXS_PER_BATCH_MAX in one batch (details: limit, unit, count). */
  BATCH_TOO_LARGE: 'BATCH_TOO_LARGE',
  /** Per-client limit: request rate, or concurrent event streams (details: limit, windowMs / unit, retryAfterSeconds). */
  RATE_LIMITED: 'RATE_LIMITED',
  /** Node-wide capacity in use: admission queue, snapshots or event streams (details: limit, unit); retry later. */
  BUSY: 'BUSY',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  NOT_FOUND: 'NOT_FOUND',
  PRUNED: 'PRUNED',
  MEMPOOL_FULL: 'MEMPOOL_FULL',
  /** Load shedding: more txs pending than the chain commits in mempool.backlogTargetMs (details: retryAfterSeconds, bound). */
  MEMPOOL_BUSY: 'MEMPOOL_BUSY',
  GENESIS_ALREADY_SET: 'GENESIS_ALREADY_SET',
  /** A mutating endpoint without this node's admin credential (rpc/admin-auth.ts); details.reason. */
  UNAUTHORIZED: 'UNAUTHORIZED',
  AWAITING_GENESIS: 'AWAITING_GENESIS',
  NOT_READY: 'NOT_READY',
  NOT_SUPPORTED: 'NOT_SUPPORTED',
  INTERNAL: 'INTERNAL',
  // HTTP-level refusals (rpc/contract.ts, lib/http-contract.ts)
  /** 405 with Allow: the path exists, the method does not. */
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  /** 414: a path parameter or the request line is too long. */
  URI_TOO_LONG: 'URI_TOO_LONG',
  /** 431: request headers over the limit. */
  HEADERS_TOO_LARGE: 'HEADERS_TOO_LARGE',
  /** 400: the URL cannot be decoded. */
  BAD_URL: 'BAD_URL',
  /** 400: not a valid HTTP request (refused by the HTTP parser). */
  BAD_REQUEST: 'BAD_REQUEST',
  /** 408. */
  REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
} as const;

/** Chain admission/execution rejection codes (RejectionCodes, src/chain/errors.ts): the tx was well-formed but refused. */
export const CHAIN_REJECTION_CODES: ReadonlySet<string> = new Set([
  'BAD_SIGNATURE',
  'BAD_NONCE',
  'WRONG_CHAIN',
  'ACCOUNT_EXISTS',
  'NO_ACCOUNT',
  'INSUFFICIENT_BALANCE',
  'UNKNOWN_ASSET',
  'NOT_ISSUER',
  'BAD_AMOUNT',
  'DUPLICATE_ANCHOR',
  'GOV_BAD_SIGNATURE',
  'GOV_THRESHOLD_NOT_MET',
  'GOV_UNKNOWN_MEMBER',
  'GOV_ALREADY_EXECUTED',
  'GOV_INVALID_ACTION',
  'GOV_KEY_RETIRED',
  'GOV_BAD_ENDORSEMENT',
]);

const EXACT: Record<string, number> = {
  INVALID_TX: 400,
  INVALID_REQUEST: 400,
  INVALID_ARGUMENT: 400,
  TX_TOO_LARGE: 413,
  BODY_TOO_LARGE: 413,
  BATCH_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  BUSY: 503,
  UNSUPPORTED_MEDIA_TYPE: 415,
  NOT_FOUND: 404,
  PRUNED: 410,
  MEMPOOL_FULL: 429,
  MEMPOOL_BUSY: 429, // load shedding before any decode or verify (src/node/mempool/backlog-gate.ts)
  ACCOUNT_MEMPOOL_FULL: 429, // the signer has its cap of pending txs (src/node/mempool)
  NONCE_TOO_FAR_AHEAD: 422, // nonce too far above the signer's next executable nonce (src/node/mempool)
  GENESIS_ALREADY_SET: 409,
  GENESIS_MISMATCH: 409, // a valid genesis, but not the one this node was provisioned for (src/node/genesis-policy.ts)
  UNAUTHORIZED: 401,
  CONFLICT: 409,
  CONSENSUS_KEYS_FULL: 409, // the node holds its cap of rotated consensus keys (src/node/consensus-keys.ts)
  KEY_ROTATION_UNSUPPORTED: 409, // the node key is in AWS KMS: the node creates no keys (src/node/consensus-keys.ts)
  AWAITING_GENESIS: 503,
  NOT_READY: 503,
  NOT_SUPPORTED: 501,
  METHOD_NOT_ALLOWED: 405,
  URI_TOO_LONG: 414,
  HEADERS_TOO_LARGE: 431,
  BAD_URL: 400,
  BAD_REQUEST: 400,
  REQUEST_TIMEOUT: 408,
};

/** HTTP status for an error code; unknown codes are server faults (500). */
export function statusForCode(code: string): number {
  const exact = EXACT[code];
  if (exact !== undefined) return exact;
  if (code.startsWith('CODEC_')) return 400;
  if (code.startsWith('GENESIS_')) return 400;
  if (CHAIN_REJECTION_CODES.has(code) || code.startsWith('GOV_')) return 422;
  return 500;
}
