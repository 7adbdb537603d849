/**
 * Control-plane error codes (stable). The API maps each to an HTTP status in ONE place
 * (api/error-handler.ts via HTTP_STATUS below).
 */
export const CpCodes = {
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  /** 401: the bearer token is known but past its expiresAt (rotate or create a new one). */
  TOKEN_EXPIRED: 'TOKEN_EXPIRED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_A_MEMBER: 'NOT_A_MEMBER',
  NOT_FOUND: 'NOT_FOUND',
  ALREADY_EXISTS: 'ALREADY_EXISTS',
  VERSION_CONFLICT: 'VERSION_CONFLICT',
  IDEMPOTENCY_KEY_REUSED: 'IDEMPOTENCY_KEY_REUSED',
  INVALID_SIGNATURE: 'INVALID_SIGNATURE',
  INVALID_KEY: 'INVALID_KEY',
  /** 400: an admin-key rotation whose endorsement is not by a current admin key or does not verify. */
  INVALID_ENDORSEMENT: 'INVALID_ENDORSEMENT',
  /** 409: signed with an admin key that a rotation or recovery replaced on this chain (domain/admin-keys.ts). */
  KEY_RETIRED: 'KEY_RETIRED',
  ALREADY_VOTED: 'ALREADY_VOTED',
  ALREADY_APPROVED: 'ALREADY_APPROVED',
  PROPOSAL_CLOSED: 'PROPOSAL_CLOSED',
  INVALID_ACTION: 'INVALID_ACTION',
  INVALID_TIER: 'INVALID_TIER',
  INVALID_STATE: 'INVALID_STATE',
  CLUSTER_UNREACHABLE: 'CLUSTER_UNREACHABLE',
  ENCRYPTION_NOT_CONFIGURED: 'ENCRYPTION_NOT_CONFIGURED',
  UNSUPPORTED: 'UNSUPPORTED',
  INTERNAL: 'INTERNAL',
  // HTTP-level refusals (api/error-handler.ts, lib/http-contract.ts)
  /** 405 with Allow: the path exists, the method does not. */
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  /** 413: body over the limit. */
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  /** 414: a path parameter or the request line is too long. */
  URI_TOO_LONG: 'URI_TOO_LONG',
  /** 415: a body of a media type the route does not take. */
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  /** 431: request headers over the limit. */
  HEADERS_TOO_LARGE: 'HEADERS_TOO_LARGE',
  /** 400: the URL cannot be decoded. */
  BAD_URL: 'BAD_URL',
  /** 400: not a valid HTTP request (refused by the HTTP parser). */
  BAD_REQUEST: 'BAD_REQUEST',
  /** 408. */
  REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
  /** 429 with Retry-After (server.ts). */
  RATE_LIMITED: 'RATE_LIMITED',
  /** 503: the node an action needs (a validator making its new consensus key) did not answer; retry later. */
  NODE_UNAVAILABLE: 'NODE_UNAVAILABLE',
  /** A node's key provider was removed from the config (domain/key-providers.ts): its reconcile fails, shown in its status. */
  KEY_PROVIDER_MISSING: 'KEY_PROVIDER_MISSING',
} as const;
export type CpCode = (typeof CpCodes)[keyof typeof CpCodes];

/** The single code -> HTTP status table. Unknown codes are 500; chain CODEC_* input errors are 400. */
export const HTTP_STATUS: Record<string, number> = {
  VALIDATION_FAILED: 400,
  INVALID_ARGUMENT: 400,
  INVALID_SIGNATURE: 400,
  INVALID_KEY: 400,
  INVALID_ENDORSEMENT: 400,
  INVALID_ACTION: 400,
  INVALID_TIER: 400,
  CLUSTER_UNREACHABLE: 400,
  ENCRYPTION_NOT_CONFIGURED: 400,
  UNAUTHENTICATED: 401,
  TOKEN_EXPIRED: 401,
  FORBIDDEN: 403,
  NOT_A_MEMBER: 403,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  CONFLICT: 409,
  VERSION_CONFLICT: 409,
  ALREADY_VOTED: 409,
  ALREADY_APPROVED: 409,
  PROPOSAL_CLOSED: 409,
  INVALID_STATE: 409,
  KEY_RETIRED: 409,
  KEY_PROVIDER_MISSING: 409,
  IDEMPOTENCY_KEY_REUSED: 422,
  UNSUPPORTED: 501,
  INTERNAL: 500,
  METHOD_NOT_ALLOWED: 405,
  PAYLOAD_TOO_LARGE: 413,
  URI_TOO_LONG: 414,
  UNSUPPORTED_MEDIA_TYPE: 415,
  HEADERS_TOO_LARGE: 431,
  BAD_URL: 400,
  BAD_REQUEST: 400,
  REQUEST_TIMEOUT: 408,
  RATE_LIMITED: 429,
  NODE_UNAVAILABLE: 503,
};

export function httpStatusFor(code: string): number {
  const s = HTTP_STATUS[code];
  if (s !== undefined) return s;
  if (code.startsWith('CODEC_') || code.startsWith('GENESIS_')) return 400;
  return 500;
}
