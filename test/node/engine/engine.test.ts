import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  Tags,
  blockHash,
  encodeBlock,
  proposalSignBytes,
  sign,
  signDomain,
  signVote,
  toHex,
  verifyVote,
  type KeyPair,
} from '../../../src/chain/index.js';
import { proposerFor } from '../../../src/consensus/index.js';
import { createLogger } from '../../../src/lib/logging.js';
import { ConsensusEngine, decodeMsg, encodeMsg, type WireMsg } from '../../../src/node/engine/index.js';
import { P2PCodes } from '../../../src/node/p2p/index.js';
import { PrivValidator } from '../../../src/node/store/index.js';
import { openEngineChain, tipMempool } from './engine-fixture.js';
import { CHAIN } from '../../chain/fixtures.js';

// One real engine (real store, tip, mempool and privval) of a 4-validator chain, fed proposals
// signed by the other validators' keys; what it sends is captured. verifyVote is the real one,
// watched to count how often the engine pays for it.
vi.mock('../../../src/chain/index.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../src/chain/index.js')>();
  return { ...real, verifyVote: vi.fn(real.verifyVote) };
});
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function oneEngine() {
  const { f, dir, store, tip } = await openEngineChain('engine-', cleanups);
  const validators = tip.validators.map((v) => ({ id: toHex(v.publicKey), power: v.power }));
  const keyOf = (id: string): KeyPair => f.validators.find((k) => toHex(k.publicKey) === id)!;
  // this engine is a validator that does not propose height 1 round 0
  const proposer0 = keyOf(proposerFor(validators, 1, 0));
  const self = f.validators.find((k) => k !== proposer0)!;
  const mempool = tipMempool(tip, 1000);
  const sent: WireMsg[] = [];
  const engine = new ConsensusEngine({
    tip,
    mempool,
    nodePublicKey: self.publicKey,
    logger: createLogger('silent'),
    out: {
      broadcast: (_ch, p) => {
        sent.push(decodeMsg(Buffer.from(p)));
      },
      send: (_peer, _ch, p) => {
        sent.push(decodeMsg(Buffer.from(p)));
      },
    },
    privval: new PrivValidator(join(dir, 'privval.state'), (m) => sign(self.secretKey, m)),
    timeouts: { proposeMs: 60_000, prevoteMs: 60_000, precommitMs: 60_000 }, // no round changes during a test
    onCommitted: () => undefined,
    requestSync: () => undefined,
  });
  await engine.start(store);
  cleanups.push(() => engine.stop());

  /** A valid block for height 1 proposed by `k` in `round` (distinct per `time`), as a signed proposal message. */
  const proposal = (k: KeyPair, round: number, time: number): { msg: Buffer; hashHex: string } => {
    const { block } = tip.buildNext({
      proposer: k.publicKey,
      time: f.genesis.genesisTime + time,
      txs: [],
      evidence: [],
      lastCommit: null,
      verified: new Set(),
    });
    const hash = blockHash(block.header);
    const signature = signDomain(Tags.PROPOSAL, k.secretKey, proposalSignBytes(CHAIN, 1, round, hash, -1));
    return {
      msg: encodeMsg({
        kind: 'proposal',
        height: 1,
        round,
        polRound: -1,
        proposer: k.publicKey,
        signature,
        block: encodeBlock(block),
      }),
      hashHex: toHex(hash),
    };
  };
  const prevotes = () =>
    sent.flatMap((m) =>
      m.kind === 'vote' && m.type === 'prevote'
        ? [{ round: m.round, hash: m.blockHash ? toHex(m.blockHash) : null }]
        : [],
    );
  return { engine, tip, validators, keyOf, proposer0, proposal, prevotes };
}

describe('consensus engine: proposals', () => {
  it('prevotes the first valid proposal of its round, and re-sends of it are not validated again', async () => {
    const { engine, tip, proposer0, proposal, prevotes } = await oneEngine();
    const validate = vi.spyOn(tip, 'validateNext');
    const p = proposal(proposer0, 0, 1_000);
    engine.onMessage('peer', p.msg);
    engine.onMessage('peer', p.msg);
    expect(validate).toHaveBeenCalledTimes(1);
    expect(prevotes()).toEqual([{ round: 0, hash: p.hashHex }]);
  });

  it('validates at most two blocks of an equivocating proposer per round', async () => {
    const { engine, tip, proposer0, proposal, prevotes } = await oneEngine();
    const validate = vi.spyOn(tip, 'validateNext');
    const ps = [1_000, 2_000, 3_000, 4_000, 5_000].map((t) => proposal(proposer0, 0, t));
    expect(new Set(ps.map((p) => p.hashHex)).size).toBe(5);
    for (const p of ps) engine.onMessage('peer', p.msg);
    expect(validate).toHaveBeenCalledTimes(2);
    expect(prevotes()).toEqual([{ round: 0, hash: ps[0]!.hashHex }]); // the first one wins
  });

  it('leaves proposals for rounds far ahead of its own unvalidated, and validates near ones', async () => {
    const { engine, tip, validators, keyOf, proposal } = await oneEngine();
    const validate = vi.spyOn(tip, 'validateNext');
    const far = 17;
    engine.onMessage('peer', proposal(keyOf(proposerFor(validators, 1, far)), far, 1_000).msg);
    expect(validate).not.toHaveBeenCalled();
    engine.onMessage('peer', proposal(keyOf(proposerFor(validators, 1, 16)), 16, 1_000).msg);
    expect(validate).toHaveBeenCalledTimes(1);
  });

  it('refuses a proposal or vote whose signature does not verify (the network bans a peer that sends them)', async () => {
    const { engine, tip, proposer0, proposal, prevotes } = await oneEngine();
    const validate = vi.spyOn(tip, 'validateNext');
    const p = proposal(proposer0, 0, 1_000);
    const forged = Buffer.from(p.msg);
    forged.writeUInt8(forged.readUInt8(50) ^ 1, 50); // inside the signature
    expect(() => engine.onMessage('peer', forged)).toThrow(expect.objectContaining({ code: P2PCodes.BAD_SIGNATURE }));
    const vote = encodeMsg({
      kind: 'vote',
      type: 'prevote',
      height: 1,
      round: 0,
      blockHash: null,
      validator: proposer0.publicKey,
      signature: new Uint8Array(64),
    });
    expect(() => engine.onMessage('peer', vote)).toThrow(expect.objectContaining({ code: P2PCodes.BAD_SIGNATURE }));
    expect(validate).not.toHaveBeenCalled();
    expect(prevotes()).toEqual([]);
  });

  it("ignores a proposal signed by a validator that is not the round's proposer", async () => {
    const { engine, tip, validators, keyOf, proposal, prevotes } = await oneEngine();
    const validate = vi.spyOn(tip, 'validateNext');
    const other = keyOf(validators.map((v) => v.id).find((id) => id !== proposerFor(validators, 1, 0))!);
    engine.onMessage('peer', proposal(other, 0, 1_000).msg);
    expect(validate).not.toHaveBeenCalled();
    expect(prevotes()).toEqual([]);
  });
});

describe('consensus engine: votes', () => {
  it('verifies each distinct vote once per height, however often it is re-sent', async () => {
    const { engine, proposer0 } = await oneEngine();
    const verify = vi.mocked(verifyVote);
    verify.mockClear();
    const vote = (round: number): Buffer => {
      const v = signVote(CHAIN, proposer0.secretKey, proposer0.publicKey, 'prevote', 1, round, null);
      return encodeMsg({
        kind: 'vote',
        type: 'prevote',
        height: 1,
        round,
        blockHash: null,
        validator: v.validator,
        signature: v.signature,
      });
    };
    for (let i = 0; i < 5; i++) engine.onMessage('peer', vote(0));
    expect(verify).toHaveBeenCalledTimes(1);
    engine.onMessage('peer', vote(1));
    expect(verify).toHaveBeenCalledTimes(2);
    expect(verify.mock.results.every((r) => r.value === true)).toBe(true);
  });
});
