import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  Tags,
  blockHash,
  encodeBlock,
  encodeCommit,
  proposalSignBytes,
  sign,
  signDomain,
  toHex,
  txIdShared,
  type Block,
  type KeyPair,
  type Tx,
} from '../../../src/chain/index.js';
import { proposerFor } from '../../../src/consensus/index.js';
import { createLogger } from '../../../src/lib/logging.js';
import { ConsensusEngine, decodeMsg, encodeMsg, type WireMsg } from '../../../src/node/engine/index.js';
import { type MempoolChain } from '../../../src/node/mempool/index.js';
import { PrivValidator } from '../../../src/node/store/index.js';
import { BlockSync } from '../../../src/node/sync/index.js';
import { VerifyPool, verifyTxSignatures } from '../../../src/node/verify-pool/index.js';
import { certify } from '../../chain/chain-builder.js';
import { openEngineChain, tipMempool } from './engine-fixture.js';
import { CHAIN, key, stx } from '../../chain/fixtures.js';

// One real engine of a 4-validator chain whose mempool verifies signatures in a real verify pool
// (or a gated stand-in), fed proposals by the round's proposer.
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type Verifier = NonNullable<MempoolChain<Tx>['verifySignatures']>;

async function oneEngine(verifier: 'pool' | Verifier) {
  const { f, dir, store, tip } = await openEngineChain('engine-vp-', cleanups);
  const validators = tip.validators.map((v) => ({ id: toHex(v.publicKey), power: v.power }));
  const keyOf = (id: string): KeyPair => f.validators.find((k) => toHex(k.publicKey) === id)!;
  const proposer0 = keyOf(proposerFor(validators, 1, 0));
  const self = f.validators.find((k) => k !== proposer0)!;
  let pool: VerifyPool | null = null;
  if (verifier === 'pool') {
    const p = new VerifyPool({ workers: 2 });
    pool = p;
    cleanups.push(() => p.close());
  }
  const mempool = tipMempool(tip, 1000, {
    verifySignatures: pool ? (items, prio) => verifyTxSignatures(pool, items, prio) : (verifier as Verifier),
  });
  const sent: WireMsg[] = [];
  const logger = createLogger('silent');
  const errors = vi.spyOn(logger, 'error');
  const debug = vi.spyOn(logger, 'debug');
  const engine = new ConsensusEngine({
    tip,
    mempool,
    nodePublicKey: self.publicKey,
    logger,
    out: {
      broadcast: (_ch, p) => {
        sent.push(decodeMsg(Buffer.from(p)));
      },
      send: (_peer, _ch, p) => {
        sent.push(decodeMsg(Buffer.from(p)));
      },
    },
    privval: new PrivValidator(join(dir, 'privval.state'), (m) => sign(self.secretKey, m)),
    timeouts: { proposeMs: 60_000, prevoteMs: 60_000, precommitMs: 60_000 },
    onCommitted: () => undefined,
    requestSync: () => undefined,
  });
  await engine.start(store);
  cleanups.push(() => engine.stop());

  /** Block 1 with `txs` by the round-0 proposer, executed as if `claimedVerified` verified. */
  const proposal = (txs: Uint8Array[], claimedVerified: string[] = []) => {
    const { block } = tip.buildNext({
      proposer: proposer0.publicKey,
      time: f.genesis.genesisTime + 1_000,
      txs,
      evidence: [],
      lastCommit: null,
      verified: new Set(claimedVerified),
    });
    const hash = blockHash(block.header);
    const signature = signDomain(Tags.PROPOSAL, proposer0.secretKey, proposalSignBytes(CHAIN, 1, 0, hash, -1));
    const msg = encodeMsg({
      kind: 'proposal',
      height: 1,
      round: 0,
      polRound: -1,
      proposer: proposer0.publicKey,
      signature,
      block: encodeBlock(block),
    });
    return { msg, hashHex: toHex(hash), block };
  };
  const prevotes = () =>
    sent.flatMap((m) =>
      m.kind === 'vote' && m.type === 'prevote'
        ? [{ round: m.round, hash: m.blockHash ? toHex(m.blockHash) : null }]
        : [],
    );
  return { f, engine, tip, store, mempool, pool, proposal, prevotes, errors, debug };
}

/** Waits until `cond` holds (the pool answers asynchronously); fails if it never does. */
async function until(cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  expect(cond()).toBe(true);
}

const accountTxs = (n: number): Uint8Array[] =>
  Array.from({ length: n }, (_, i) => stx(key(1000 + i), 0, { type: 'create_account' }));

describe('consensus engine with the verify pool', () => {
  it('verifies the unverified txs of a proposal in the pool, then validates it with them verified', async () => {
    const { tip, engine, mempool, pool, proposal, prevotes } = await oneEngine('pool');
    const txs = accountTxs(300); // more than one pool job
    const hexes = txs.map((t) => txIdShared(t).hex);
    const verifiedAtValidation: boolean[] = [];
    const real = tip.validateNext.bind(tip);
    const validate = vi.spyOn(tip, 'validateNext').mockImplementation((block: Block, verified, opts) => {
      for (const h of hexes) verifiedAtValidation.push(verified.has(h));
      return real(block, verified, opts);
    });
    const p = proposal(txs);
    engine.onMessage('peer', p.msg);
    expect(validate).not.toHaveBeenCalled(); // waits for the pool
    engine.onMessage('peer', p.msg); // a re-send meanwhile is not validated a second time
    await until(() => prevotes().length > 0);
    expect(prevotes()).toEqual([{ round: 0, hash: p.hashHex }]);
    expect(validate).toHaveBeenCalledTimes(1);
    expect(verifiedAtValidation.every(Boolean)).toBe(true);
    expect(pool!.stats.items).toBe(txs.length);
    for (const h of hexes) expect(mempool.verified.has(h)).toBe(true);
  });

  it('finds a proposal invalid when a tx signature fails in the pool', async () => {
    const { engine, mempool, pool, proposal, prevotes } = await oneEngine('pool');
    const txs = accountTxs(3);
    const forged = Uint8Array.from(txs[1]!);
    forged[forged.length - 1]! ^= 1; // the proposer "verified" it and executed it as valid
    const forgedHex = txIdShared(forged).hex;
    const p = proposal([txs[0]!, forged, txs[2]!], [forgedHex]);
    engine.onMessage('peer', p.msg);
    await until(() => prevotes().length > 0);
    expect(prevotes()).toEqual([{ round: 0, hash: null }]);
    expect(pool!.stats.items).toBe(3);
    expect(mempool.verified.has(forgedHex)).toBe(false);
    expect(mempool.verified.has(txIdShared(txs[0]!).hex)).toBe(true);
  });

  it('drops a proposal whose height was committed while its txs were verified', async () => {
    let release = (): void => undefined;
    let calls = 0;
    const gated: Verifier = (items) => {
      calls++;
      return new Promise((r) => {
        release = () => r(items.map(() => true));
      });
    };
    const { f, tip, engine, proposal, prevotes, errors, debug } = await oneEngine(gated);
    const validate = vi.spyOn(tip, 'validateNext');
    const p = proposal(accountTxs(2));
    engine.onMessage('peer', p.msg);
    await until(() => calls === 1);
    // block sync commits height 1 meanwhile (another block), and consensus moves to height 2
    const other = tip.buildNext({
      proposer: f.validators[0]!.publicKey,
      time: f.genesis.genesisTime + 2_000,
      txs: [],
      evidence: [],
      lastCommit: null,
      verified: new Set(),
    });
    await engine.serialize(() => engine.applyCommitted(other.block, certify(other.block, f.validators), other.exec));
    engine.resyncedTo();
    expect(engine.height).toBe(2);
    validate.mockClear();
    release();
    await until(() => debug.mock.calls.some(([msg]) => msg.startsWith('dropped a proposal')));
    expect(validate).not.toHaveBeenCalled();
    expect(prevotes().filter((v) => v.hash === p.hashHex)).toEqual([]);
    expect(errors).not.toHaveBeenCalled();
  });

  it("verifies a synced block's txs in the pool, so that its execution finds them verified", async () => {
    const { f, tip, store, engine, pool } = await oneEngine('pool');
    const txs = accountTxs(300);
    const hexes = txs.map((t) => txIdShared(t).hex);
    const { block } = tip.buildNext({
      proposer: f.validators[0]!.publicKey,
      time: f.genesis.genesisTime + 1_000,
      txs,
      evidence: [],
      lastCommit: null,
      verified: new Set(hexes),
    });
    const verifiedAtValidation: boolean[] = [];
    const real = tip.validateNext.bind(tip);
    vi.spyOn(tip, 'validateNext').mockImplementation((b: Block, verified, opts) => {
      for (const h of hexes) verifiedAtValidation.push(verified.has(h));
      return real(b, verified, opts);
    });
    const asked: WireMsg[] = [];
    const syncLogger = createLogger('silent');
    const warn = vi.spyOn(syncLogger, 'warn');
    const sync = new BlockSync({
      tip,
      store,
      engine,
      out: { send: (_peer, _ch, p) => void asked.push(decodeMsg(Buffer.from(p))), broadcast: () => undefined },
      logger: syncLogger,
    });
    const ask = (peer: string): void => {
      sync.onMessage(peer, encodeMsg({ kind: 'status', height: 1, lowest: 1 }));
      sync.request();
      expect(asked.some((m) => m.kind === 'getBlocks')).toBe(true);
      asked.length = 0;
    };
    // a block whose certificate one validator signed (not 2/3): no verify work is spent on its txs
    ask('forger');
    sync.onMessage(
      'forger',
      encodeMsg({
        kind: 'blocks',
        items: [{ block: encodeBlock(block), commit: encodeCommit(certify(block, f.validators.slice(0, 1))) }],
      }),
    );
    await until(() => warn.mock.calls.some(([, f]) => (f as { peer?: string } | undefined)?.peer === 'forger'));
    expect(tip.height).toBe(0);
    expect(pool!.stats.items).toBe(0);
    ask('peer');
    const cert = certify(block, f.validators);
    sync.onMessage(
      'peer',
      encodeMsg({ kind: 'blocks', items: [{ block: encodeBlock(block), commit: encodeCommit(cert) }] }),
    );
    await until(() => tip.height === 1);
    expect(pool!.stats.items).toBe(txs.length);
    expect(verifiedAtValidation).toHaveLength(txs.length);
    expect(verifiedAtValidation.every(Boolean)).toBe(true);
  });
});
