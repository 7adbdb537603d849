/**
 * How many txs the proposer may put in a block: as many as the other validators can execute
 * within the time their propose timeout leaves them, not a fixed count. A validator executes a
 * proposal (and verifies the signatures of the txs it has not admitted yet) before it can prevote
 * for it; a block that takes longer than that on a busy host is prevoted nil everywhere, the next
 * round's proposer reaps an even bigger block from a pool that kept filling, and the chain stops
 * committing while it is offered more (seen in bench/chain-throughput.ts overload stages on a
 * host shared with other work). The cost per tx is measured on this node, from the proposals it
 * validates and the blocks it builds, so a slower host gets smaller blocks instead of a stall.
 */

/** Percent of the time between the proposal being due and the propose timeout that executing the block may take. */
export const BLOCK_EXEC_BUDGET_PERCENT = 40;
/** Shortest execution budget, milliseconds (very short timeouts still get useful blocks). */
export const BLOCK_EXEC_BUDGET_MIN_MS = 100;
/** Txs a block may always carry (a measured cost never shrinks blocks below this). */
export const BLOCK_TXS_MIN = 100;
/** Weight of a new measurement in the moving average of the cost per tx. */
const COST_EWMA_WEIGHT = 0.3;
/** Blocks with fewer txs than this say more about the per-block cost than about the per-tx one. */
const COST_SAMPLE_TXS_MIN = 50;

/** Milliseconds a block may take to execute, for a chain with these propose timeout and block interval. */
export function blockExecBudgetMs(proposeTimeoutMs: number, blockIntervalMs: number): number {
  const window = Math.max(0, proposeTimeoutMs - blockIntervalMs);
  return Math.max(BLOCK_EXEC_BUDGET_MIN_MS, (window * BLOCK_EXEC_BUDGET_PERCENT) / 100);
}

export class BlockBudget {
  /** Moving averages, microseconds per tx: executing proposals of others (validate) and own (build). */
  private validateUs = 0;
  private buildUs = 0;

  /** Microseconds per tx the next block is expected to cost a validator (0: not measured yet). */
  get usPerTx(): number {
    return Math.max(this.validateUs, this.buildUs);
  }

  observeValidate(txs: number, ms: number): void {
    if (txs >= COST_SAMPLE_TXS_MIN) this.validateUs = ewma(this.validateUs, (ms * 1000) / txs);
  }

  observeBuild(txs: number, ms: number): void {
    if (txs >= COST_SAMPLE_TXS_MIN) this.buildUs = ewma(this.buildUs, (ms * 1000) / txs);
  }

  /** Txs for the next proposal: what executes within `budgetMs` at the measured cost, within `cap`. */
  maxTxs(cap: number, budgetMs: number): number {
    const us = this.usPerTx;
    if (us <= 0) return cap;
    return Math.min(cap, Math.max(BLOCK_TXS_MIN, Math.floor((budgetMs * 1000) / us)));
  }
}

function ewma(prev: number, sample: number): number {
  return prev === 0 ? sample : prev * (1 - COST_EWMA_WEIGHT) + sample * COST_EWMA_WEIGHT;
}
