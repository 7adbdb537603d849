/**
 * Exit codes of the chain-node process (dist/node/main.js). The runtimes that supervise nodes
 * (local child processes, Kubernetes containers) read them to report why a node stopped.
 */
export const NodeExitCodes = {
  OK: 0,
  FATAL: 1,
  BAD_CONFIG: 2,
  /** The node holds (or was configured with) a genesis other than the one it was provisioned for. */
  GENESIS_MISMATCH: 3,
} as const;

/**
 * Error code of a genesis that is not the one a node was provisioned for (foreign chain, wrong
 * founders, not listing the node, or a stored genesis that differs from the configured one).
 * Also the prefix of the status message the control plane shows for such a node.
 */
export const GENESIS_MISMATCH = 'GENESIS_MISMATCH';

/** Longest part of a node's own explanation copied into a control-plane status message. */
export const STATUS_DETAIL_MAX_CHARS = 400;

/**
 * "GENESIS_MISMATCH: <why>" for a node that stopped with NodeExitCodes.GENESIS_MISMATCH, <why> taken
 * from the last fatal JSON log line with that code in `logTail` (the end of its log), clipped.
 */
export function genesisMismatchStatus(logTail: string | undefined): string {
  let detail =
    'the node refuses to start: its data directory holds a genesis other than the one it was provisioned for';
  for (const line of (logTail ?? '').split('\n').reverse()) {
    if (!line.includes(GENESIS_MISMATCH)) continue;
    try {
      const j = JSON.parse(line) as { code?: unknown; error?: unknown };
      if (j.code === GENESIS_MISMATCH && typeof j.error === 'string') {
        detail = j.error.slice(0, STATUS_DETAIL_MAX_CHARS);
        break;
      }
    } catch {
      /* a torn or truncated line */
    }
  }
  return `${GENESIS_MISMATCH}: ${detail}`;
}
