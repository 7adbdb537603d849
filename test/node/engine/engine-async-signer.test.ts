import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  Tags,
  blockHash,
  domainMessage,
  encodeBlock,
  proposalSignBytes,
  sign,
  signDomain,
  signVote,
  toHex,
  verify,
  voteSignBytes,
  type CommitCertificate,
  type KeyPair,
} from '../../../src/chain/index.js';
import { proposerFor } from '../../../src/consensus/index.js';
import { createLogger } from '../../../src/lib/logging.js';
import { ConsensusEngine, decodeMsg, encodeMsg, type WireMsg } from '../../../src/node/engine/index.js';
import { PrivValidator } from '../../../src/node/store/index.js';
import { openEngineChain, tipMempool } from './engine-fixture.js';
import { CHAIN } from '../../chain/fixtures.js';

// One real engine of a 4-validator chain whose key signs only asynchronously (as a KMS key does):
// each signature is a request the test answers when it chooses, so what the engine sends before
// and after the answer, and what it commits, can be checked.
/** Upper bound of a condition wait (it returns as soon as the condition holds). */
const WAIT = { timeout: 20_000 };
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface SignRequest {
  message: Uint8Array;
  resolve(sig: Uint8Array): void;
  reject(err: Error): void;
}

async function asyncEngine() {
  const { f, dir, store, tip } = await openEngineChain('engine-async-', cleanups);
  const validators = tip.validators.map((v) => ({ id: toHex(v.publicKey), power: v.power }));
  const keyOf = (id: string): KeyPair => f.validators.find((k) => toHex(k.publicKey) === id)!;
  const proposer0 = keyOf(proposerFor(validators, 1, 0));
  const self = f.validators.find((k) => k !== proposer0)!;
  const others = f.validators.filter((k) => k !== self && k !== proposer0);
  const mempool = tipMempool(tip, 1000);
  const requests: SignRequest[] = [];
  const privval = new PrivValidator(join(dir, 'privval.state'), {
    sign: (message) =>
      new Promise<Uint8Array>((resolve, reject) => {
        requests.push({ message, resolve, reject });
      }),
  });
  cleanups.push(() => privval.close());
  const answer = (i: number): void => requests[i]!.resolve(sign(self.secretKey, requests[i]!.message));
  const sent: WireMsg[] = [];
  const committed: CommitCertificate[] = [];
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
      send: () => undefined,
    },
    privval,
    timeouts: { proposeMs: 60_000, prevoteMs: 60_000, precommitMs: 60_000 }, // no round changes during a test
    onCommitted: (c) => {
      committed.push(c.cert);
    },
    requestSync: () => undefined,
  });
  await engine.start(store);
  cleanups.push(() => engine.stop());

  const proposal = (): { msg: Buffer; hash: Uint8Array } => {
    const { block } = tip.buildNext({
      proposer: proposer0.publicKey,
      time: f.genesis.genesisTime + 1_000,
      txs: [],
      evidence: [],
      lastCommit: null,
      verified: new Set(),
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
    return { msg, hash };
  };
  const vote = (k: KeyPair, type: 'prevote' | 'precommit', hash: Uint8Array): Buffer => {
    const v = signVote(CHAIN, k.secretKey, k.publicKey, type, 1, 0, hash);
    return encodeMsg({
      kind: 'vote',
      type,
      height: 1,
      round: 0,
      blockHash: hash,
      validator: k.publicKey,
      signature: v.signature,
    });
  };
  const ownVotes = () =>
    sent.flatMap((m) =>
      m.kind === 'vote' && toHex(m.validator) === toHex(self.publicKey) ? [{ type: m.type, height: m.height, m }] : [],
    );
  return {
    engine,
    tip,
    self,
    proposer0,
    others,
    requests,
    answer,
    sent,
    committed,
    errors,
    debug,
    proposal,
    vote,
    ownVotes,
  };
}

describe('consensus engine with a key that signs asynchronously', () => {
  it('sends its prevote when the signature arrives, not before', async () => {
    const t = await asyncEngine();
    const p = t.proposal();
    t.engine.onMessage('peer', p.msg);
    expect(t.requests).toHaveLength(1);
    const prevoteBytes = domainMessage(Tags.VOTE, voteSignBytes(CHAIN, 'prevote', 1, 0, p.hash));
    expect(Buffer.from(t.requests[0]!.message).equals(Buffer.from(prevoteBytes))).toBe(true);
    expect(t.ownVotes()).toEqual([]);
    t.answer(0);
    await vi.waitFor(() => expect(t.ownVotes()).toHaveLength(1), WAIT);
    const v = t.ownVotes()[0]!.m;
    expect(v.kind === 'vote' && v.type).toBe('prevote');
    expect(v.kind === 'vote' && verify(t.self.publicKey, prevoteBytes, v.signature)).toBe(true);
  });

  it('commits with its own precommit signature once it arrives, and drops a signature of a finished height', async () => {
    const t = await asyncEngine();
    const p = t.proposal();
    t.engine.onMessage('peer', p.msg); // request 0: our prevote, left unanswered
    t.engine.onMessage('peer', t.vote(t.proposer0, 'prevote', p.hash));
    t.engine.onMessage('peer', t.vote(t.others[0]!, 'prevote', p.hash)); // polka with ours: request 1, our precommit
    expect(t.requests).toHaveLength(2);
    t.engine.onMessage('peer', t.vote(t.proposer0, 'precommit', p.hash));
    t.engine.onMessage('peer', t.vote(t.others[0]!, 'precommit', p.hash)); // decided, counting our precommit
    expect(t.committed).toEqual([]); // the certificate needs our precommit's signature first
    t.answer(1);
    await vi.waitFor(() => expect(t.committed).toHaveLength(1), WAIT);
    const cert = t.committed[0]!;
    const ours = cert.signatures.find((s) => toHex(s.validator) === toHex(t.self.publicKey));
    expect(ours).toBeDefined();
    const precommitBytes = domainMessage(Tags.VOTE, voteSignBytes(CHAIN, 'precommit', 1, 0, p.hash));
    expect(verify(t.self.publicKey, precommitBytes, ours!.signature)).toBe(true);
    expect(cert.signatures).toHaveLength(3);
    await vi.waitFor(() => expect(t.engine.height).toBe(2), WAIT);
    expect(toHex(cert.blockHash)).toBe(toHex(p.hash));
    t.answer(0); // the height-1 prevote arrives after height 1 was committed
    await vi.waitFor(
      () =>
        expect(t.debug).toHaveBeenCalledWith('signature arrived after its height; not sent', {
          height: 1,
          round: 0,
          step: 'prevote',
        }),
      WAIT,
    );
    expect(t.ownVotes().map((v) => `${v.height}/${v.type}`)).toEqual(['1/precommit']);
  });

  it('asks again for a failed precommit of a decided block, then commits with it', async () => {
    const t = await asyncEngine();
    const p = t.proposal();
    t.engine.onMessage('peer', p.msg);
    t.answer(0);
    t.engine.onMessage('peer', t.vote(t.proposer0, 'prevote', p.hash));
    t.engine.onMessage('peer', t.vote(t.others[0]!, 'prevote', p.hash)); // request 1: our precommit
    t.engine.onMessage('peer', t.vote(t.proposer0, 'precommit', p.hash));
    t.engine.onMessage('peer', t.vote(t.others[0]!, 'precommit', p.hash));
    t.requests[1]!.reject(new Error('ThrottlingException'));
    await vi.waitFor(() => expect(t.requests).toHaveLength(3), WAIT); // the same precommit, asked again
    expect(Buffer.from(t.requests[2]!.message).equals(Buffer.from(t.requests[1]!.message))).toBe(true);
    expect(t.committed).toEqual([]);
    t.answer(2);
    await vi.waitFor(() => expect(t.committed).toHaveLength(1), WAIT);
    expect(t.committed[0]!.signatures.some((s) => toHex(s.validator) === toHex(t.self.publicKey))).toBe(true);
  });

  it('logs a failed signature and keeps running; the vote is not sent', async () => {
    const t = await asyncEngine();
    t.engine.onMessage('peer', t.proposal().msg);
    t.requests[0]!.reject(Object.assign(new Error('Rate exceeded'), { code: 'CUSTODY_BACKEND_FAILED' }));
    await vi.waitFor(
      () =>
        expect(t.errors).toHaveBeenCalledWith(
          'consensus signature failed; the round will time out',
          expect.objectContaining({ height: 1, round: 0, step: 'prevote', code: 'CUSTODY_BACKEND_FAILED' }),
        ),
      WAIT,
    );
    expect(t.ownVotes()).toEqual([]);
    expect(t.engine.height).toBe(1);
  });
});
