import type { Hash } from '../chain/index.js';
import type { TxSubmitResult } from './rpc/backend.js';

type Waiter = (r: TxSubmitResult) => void;

/**
 * Callers of POST /v1/txs with wait=commit, by tx hash: each is answered 'committed' when a block
 * carrying the tx commits, or 'accepted' when its timeout passes first (the tx stays in the mempool).
 */
export class SubmitWaiters {
  private readonly byHash = new Map<string, Set<Waiter>>();

  /** Resolves with the commit of tx `hex`, or 'accepted' after `timeoutMs`. */
  wait(hash: Hash, hex: string, timeoutMs: number): Promise<TxSubmitResult> {
    return new Promise<TxSubmitResult>((resolve) => {
      let set = this.byHash.get(hex);
      if (!set) {
        set = new Set();
        this.byHash.set(hex, set);
      }
      const waiters = set;
      const w: Waiter = (x) => {
        clearTimeout(t);
        resolve(x);
      };
      const t = setTimeout(
        () => {
          waiters.delete(w);
          if (waiters.size === 0) this.byHash.delete(hex);
          resolve({ status: 'accepted', hash });
        },
        Math.max(0, timeoutMs),
      );
      waiters.add(w);
    });
  }

  /** Answers every waiter of tx `hex` with its commit. */
  committed(hex: string, result: TxSubmitResult): void {
    const ws = this.byHash.get(hex);
    if (!ws) return;
    this.byHash.delete(hex);
    for (const w of ws) w(result);
  }

  /** Txs someone waits for (for tests and diagnostics). */
  get size(): number {
    return this.byHash.size;
  }
}
