import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Tags,
  blockHash,
  encodeBlock,
  proposalSignBytes,
  sign,
  signDomain,
  signVote,
  toHex,
  type KeyPair,
} from '../../../src/chain/index.js';
import { proposerFor } from '../../../src/consensus/index.js';
import { createLogger } from '../../../src/lib/logging.js';
import { ConsensusEngine, decodeMsg, encodeMsg, type WireMsg } from '../../../src/node/engine/index.js';
import { PrivValidator } from '../../../src/node/store/index.js';
import { openEngineChain, tipMempool } from './engine-fixture.js';
import { CHAIN } from '../../chain/fixtures.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('proof-of-lock relay', () => {
  it('re-proposing its locked value, a validator first sends the POL prevotes it holds, once per height', async () => {
    const { f, dir, store, tip } = await openEngineChain('pol-', cleanups);
    const validators = tip.validators.map((v) => ({ id: toHex(v.publicKey), power: v.power }));
    const keyOf = (id: string): KeyPair => f.validators.find((k) => toHex(k.publicKey) === id)!;
    const p0 = keyOf(proposerFor(validators, 1, 0));
    // self: the proposer of the first later round that is not p0's
    let rs = 1;
    while (proposerFor(validators, 1, rs) === toHex(p0.publicKey)) rs++;
    const self = keyOf(proposerFor(validators, 1, rs));
    const [a, b] = f.validators.filter((k) => k !== self && k !== p0);
    const mempool = tipMempool(tip, 100);
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
        send: () => undefined,
      },
      privval: new PrivValidator(join(dir, 'privval.state'), (m) => sign(self.secretKey, m)),
      timeouts: { proposeMs: 60_000, prevoteMs: 60_000, precommitMs: 60_000 },
      onCommitted: () => undefined,
      requestSync: () => undefined,
    });
    await engine.start(store);
    cleanups.push(() => engine.stop());

    // Round 0: p0 proposes V; self, a and b prevote it: self sees the polka and locks V.
    const { block } = tip.buildNext({
      proposer: p0.publicKey,
      time: f.genesis.genesisTime + 1_000,
      txs: [],
      evidence: [],
      lastCommit: null,
      verified: new Set(),
    });
    const hash = blockHash(block.header);
    const proposal = encodeMsg({
      kind: 'proposal',
      height: 1,
      round: 0,
      polRound: -1,
      proposer: p0.publicKey,
      signature: signDomain(Tags.PROPOSAL, p0.secretKey, proposalSignBytes(CHAIN, 1, 0, hash, -1)),
      block: encodeBlock(block),
    });
    const vote = (k: KeyPair, type: 'prevote' | 'precommit', round: number, h: Uint8Array | null): Buffer => {
      const v = signVote(CHAIN, k.secretKey, k.publicKey, type, 1, round, h);
      return encodeMsg({
        kind: 'vote',
        type,
        height: 1,
        round,
        blockHash: v.blockHash,
        validator: v.validator,
        signature: v.signature,
      });
    };
    engine.onMessage('p0', proposal);
    engine.onMessage('a', vote(a!, 'prevote', 0, hash));
    engine.onMessage('b', vote(b!, 'prevote', 0, hash));
    expect(sent.some((m) => m.kind === 'vote' && m.type === 'precommit' && m.round === 0)).toBe(true); // locked
    // a and b move on to self's round (f+1 of them: self follows); self re-proposes V with POL round 0.
    sent.length = 0;
    engine.onMessage('a', vote(a!, 'precommit', rs, null));
    engine.onMessage('b', vote(b!, 'precommit', rs, null));
    const pIdx = sent.findIndex((m) => m.kind === 'proposal');
    expect(pIdx).toBeGreaterThan(0);
    const prop = sent[pIdx] as Extract<WireMsg, { kind: 'proposal' }>;
    expect([prop.round, prop.polRound]).toEqual([rs, 0]);
    const pol = sent
      .slice(0, pIdx)
      .filter(
        (m): m is Extract<WireMsg, { kind: 'vote' }> => m.kind === 'vote' && m.type === 'prevote' && m.round === 0,
      );
    expect(pol.map((v) => toHex(v.validator)).sort()).toEqual([toHex(a!.publicKey), toHex(b!.publicKey)].sort());
    expect(pol.every((v) => v.blockHash !== null && toHex(v.blockHash) === toHex(hash))).toBe(true);
  });
});
