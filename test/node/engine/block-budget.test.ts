import { describe, expect, it } from 'vitest';
import {
  BLOCK_EXEC_BUDGET_MIN_MS,
  BLOCK_TXS_MIN,
  BlockBudget,
  blockExecBudgetMs,
} from '../../../src/node/engine/block-budget.js';

describe('block budget (txs per proposal from the measured execution cost)', () => {
  it('takes the block cap until a cost is measured', () => {
    expect(new BlockBudget().maxTxs(10_000, 600)).toBe(10_000);
  });

  it('fits the block into the budget at the measured cost, the slower of validate and build', () => {
    const b = new BlockBudget();
    b.observeBuild(1_000, 50); // 50 µs a tx
    expect(b.maxTxs(10_000, 600)).toBe(10_000); // 12,000 fit: the cap decides
    b.observeValidate(1_000, 300); // 300 µs a tx: proposals of others cost more (unverified txs)
    expect(b.usPerTx).toBe(300);
    expect(b.maxTxs(10_000, 600)).toBe(2_000);
  });

  it('shrinks blocks on a slower host and grows them back as the cost falls', () => {
    const b = new BlockBudget();
    b.observeValidate(1_000, 100);
    const fast = b.maxTxs(10_000, 600);
    for (let i = 0; i < 10; i++) b.observeValidate(1_000, 1_000); // the host got 10x busier
    const slow = b.maxTxs(10_000, 600);
    expect(slow).toBeLessThan(fast / 5);
    for (let i = 0; i < 20; i++) b.observeValidate(1_000, 100);
    expect(b.maxTxs(10_000, 600)).toBeGreaterThan(slow * 5);
  });

  it('ignores small blocks (their cost is per block, not per tx) and never goes below BLOCK_TXS_MIN', () => {
    const b = new BlockBudget();
    b.observeValidate(3, 200);
    expect(b.usPerTx).toBe(0);
    b.observeValidate(1_000, 60_000); // 60 ms a tx
    expect(b.maxTxs(10_000, 600)).toBe(BLOCK_TXS_MIN);
  });

  it('gives a share of the time the propose timeout leaves after the block interval', () => {
    expect(blockExecBudgetMs(2_000, 500)).toBe(600);
    expect(blockExecBudgetMs(3_000, 1_000)).toBe(800);
    expect(blockExecBudgetMs(500, 1_000)).toBe(BLOCK_EXEC_BUDGET_MIN_MS);
  });
});
