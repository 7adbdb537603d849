// Builds a small certified chain in memory (real execution, real commit signatures) for light/snapshot tests.
import {
  WorldState,
  blockHash,
  computeBodyRoots,
  executeBlock,
  genesisHash,
  signVote,
  validatorSetHash,
  encodeBlock,
  encodeCommit,
  encodeHeader,
  type Block,
  type CommitCertificate,
  type KeyPair,
  type ValidatorInfo,
} from '../../src/chain/index.js';
import { makeFixture, stx, CHAIN, type Fixture } from './fixtures.js';

export interface BuiltBlock {
  block: Block;
  commit: CommitCertificate;
  state: WorldState;
}

export function certify(block: Block, signers: KeyPair[], chainId = CHAIN): CommitCertificate {
  const hash = blockHash(block.header);
  return {
    height: block.header.height,
    round: 0,
    blockHash: hash,
    signatures: signers.map((k) => ({
      validator: k.publicKey,
      signature: signVote(chainId, k.secretKey, k.publicKey, 'precommit', block.header.height, 0, hash).signature,
    })),
  };
}

export function validatorsOf(f: Fixture): ValidatorInfo[] {
  return f.genesis.validators.map((v) => ({ publicKey: v.publicKey, power: v.power, memberId: v.memberId }));
}

/** Chain of `n` blocks; `txsAt(h)` gives each block's txs. */
export function buildChain(n: number, txsAt: (h: number) => Uint8Array[] = () => [], f: Fixture = makeFixture()) {
  const state = WorldState.fromGenesis(f.genesis);
  const vals = validatorsOf(f);
  const blocks: BuiltBlock[] = [];
  let prev = genesisHash(f.genesis);
  let lastCommit: CommitCertificate | null = null;
  for (let h = 1; h <= n; h++) {
    const body = { txs: txsAt(h), evidence: [], lastCommit };
    const roots = computeBodyRoots(body);
    const block: Block = {
      header: {
        chainId: CHAIN,
        height: h,
        time: f.genesis.genesisTime + h * 100,
        prevHash: prev,
        txRoot: roots.txRoot,
        stateRoot: new Uint8Array(32),
        validatorSetHash: validatorSetHash(vals),
        proposer: vals[0]!.publicKey,
        lastCommitHash: roots.lastCommitHash,
        evidenceRoot: roots.evidenceRoot,
      },
      ...body,
    };
    const exec = executeBlock(state, block);
    block.header.stateRoot = exec.stateRoot;
    state.commit(exec);
    const commit = certify(block, f.validators);
    blocks.push({ block, commit, state: state.clone() });
    prev = blockHash(block.header);
    lastCommit = commit;
  }
  return {
    f,
    blocks,
    state,
    encoded: blocks.map((b) => ({
      height: b.block.header.height,
      block: encodeBlock(b.block),
      header: encodeHeader(b.block.header),
      commit: encodeCommit(b.commit),
    })),
  };
}

/** Block h: bob opens his account at h = 1; alice pays bob `amount` USD in every block. */
export function paymentsToBob(f: Fixture, amount = 3n): (h: number) => Uint8Array[] {
  return (h) => {
    const pay = stx(f.alice, h - 1, { type: 'transfer', asset: 'USD', to: f.bob.publicKey, amount });
    return h === 1 ? [stx(f.bob, 0, { type: 'create_account' }), pay] : [pay];
  };
}
