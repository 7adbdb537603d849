/** Error codes of the chain node's own answers (the HTTP layer maps them to statuses). */
export const ChainNodeCodes = {
  AWAITING_GENESIS: 'AWAITING_GENESIS',
  GENESIS_ALREADY_SET: 'GENESIS_ALREADY_SET',
  NOT_FOUND: 'NOT_FOUND',
  PRUNED: 'PRUNED',
  /** Load shedding: the pending txs exceed what the chain commits in mempool.backlogTargetMs (429, Retry-After). */
  MEMPOOL_BUSY: 'MEMPOOL_BUSY',
} as const;
