import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeTxShared, pkHexOf, txIdShared, verifyEncodedTxSignature, type Tx } from '../../../src/chain/index.js';
import { ChainTip, chainOps } from '../../../src/node/engine/index.js';
import { Mempool, type MempoolChain } from '../../../src/node/mempool/index.js';
import { ChainStore } from '../../../src/node/store/index.js';
import { CHAIN, makeFixture, type Fixture } from '../../chain/fixtures.js';

/** Undone after each test, last first. */
export type Cleanups = (() => Promise<void> | void)[];

/**
 * A 4-validator chain at genesis for one engine: its fixture, a temp dir (for the privval), the
 * store and the tip loaded from it; all removed through `cleanups`.
 */
export async function openEngineChain(
  prefix: string,
  cleanups: Cleanups,
): Promise<{ f: Fixture; dir: string; store: ChainStore; tip: ChainTip }> {
  const f = makeFixture(4);
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const store = await ChainStore.open(join(dir, 'chain'));
  cleanups.push(() => store.close());
  const tip = await ChainTip.load(f.genesis, store, { history: false, accountIndex: true });
  return { f, dir, store, tip };
}

/** A mempool checking txs against `tip`'s state, signatures verified inline unless `chain` says otherwise. */
export function tipMempool(tip: ChainTip, maxTxs: number, chain: Partial<MempoolChain<Tx>> = {}): Mempool<Tx> {
  return new Mempool<Tx>(
    {
      chainId: CHAIN,
      txId: txIdShared,
      decode: decodeTxShared,
      info: (t) => ({ chainId: t.chainId, signerHex: pkHexOf(t.signer), nonce: t.nonce }),
      verifySignature: (t, b) => verifyEncodedTxSignature(b, t),
      stateNonce: () => 0,
      check: (t, b) => chainOps.check(tip.state, t, b.length),
      ...chain,
    },
    { maxTxs, maxBytes: 1 << 20, maxTxBytes: 4096 },
  );
}
