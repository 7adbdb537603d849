/** Codes the SDK throws (ConsortiaError); a node's own error codes are passed through unchanged. */
export const SdkCodes = {
  /** No node answered (network errors, timeouts, 5xx) in the time allowed. */
  NODES_UNREACHABLE: 'SDK_NODES_UNREACHABLE',
  /** A node's answer failed verification (bad proof, header not certified); that node is benched. */
  PROOF_REJECTED: 'SDK_PROOF_REJECTED',
  /** The sealed genesis does not verify or is not the pinned one. */
  GENESIS_UNTRUSTED: 'SDK_GENESIS_UNTRUSTED',
  /** The chain executed the tx with a failure code (details.code holds it). */
  TX_FAILED: 'SDK_TX_FAILED',
  /** The tx was refused at admission (details.code holds the node's code). */
  TX_REJECTED: 'SDK_TX_REJECTED',
  /** No commit seen before the deadline (the tx may still commit: resubmitting it is safe). */
  TX_TIMEOUT: 'SDK_TX_TIMEOUT',
  NOT_FOUND: 'SDK_NOT_FOUND',
  /** A saved proof bundle is malformed or does not verify. */
  BUNDLE_INVALID: 'SDK_BUNDLE_INVALID',
  KEY_FILE: 'SDK_KEY_FILE',
  CONTROL_PLANE: 'SDK_CONTROL_PLANE',
} as const;
